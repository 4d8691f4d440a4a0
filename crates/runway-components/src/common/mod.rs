//! Building blocks shared by components: metadata, pod security, probes, resources.

pub mod checksum;
pub mod es_node;
pub mod ingress;
pub mod meta;
pub mod metrics;
pub mod pod;
pub mod template;
#[cfg(test)]
pub mod testing;
