//! Building blocks shared by components: metadata, pod security, probes, resources, and
//! the same-shape objects (Services, budgets, RBAC, IngressClasses) many of them build.

pub mod checksum;
pub mod daemon_set;
pub mod env;
pub mod es_node;
pub mod ingress;
pub mod ingress_class;
pub mod meta;
pub mod metrics;
pub mod pdb;
pub mod pod;
pub mod probes;
pub mod rbac;
pub mod service;
pub mod storage;
pub mod template;
#[cfg(test)]
pub mod testing;
