//! The `release` ConfigMap: which runway rendered the objects, from which inputs, so an
//! operator can tell from the cluster what produced what runs there (and a GitOps diff
//! shows when the inputs changed even if the objects did not).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use runway_core::{Object, SourceKind, SourceMap};
use sha2::{Digest, Sha256};

use crate::common::meta;

/// The pseudo-component that owns the ConfigMap (its `--output-dir` folder).
pub const COMPONENT: &str = "release";
/// The ConfigMap's name.
pub const NAME: &str = "runway-release";

/// The sha256 of every input layer (name and text, in precedence order). Secret values
/// are not part of it: they are never kept in the source map.
pub fn inputs_digest(sources: &SourceMap, count: usize) -> String {
    let mut h = Sha256::new();
    for i in 0..count {
        let Some(s) = sources.get(runway_core::SourceId(i as u32)) else { break };
        if matches!(s.kind, SourceKind::Defaults | SourceKind::Built) {
            continue;
        }
        h.update(s.kind.label().as_bytes());
        h.update([0]);
        h.update(s.name.as_bytes());
        h.update([0]);
        h.update(s.text.as_bytes());
        h.update([0]);
    }
    format!("{:x}", h.finalize())
}

/// The ConfigMap for a render of `components` on `platform`.
pub fn release_config_map(namespace: &str, platform: &str, components: &[&str], digest: &str) -> Object {
    let data = BTreeMap::from([
        ("runway-version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("platform".to_string(), platform.to_string()),
        ("components".to_string(), components.join(",")),
        ("inputs-sha256".to_string(), digest.to_string()),
    ]);
    let cm = ConfigMap {
        metadata: meta::namespaced(NAME, namespace, meta::labels(NAME, "release")),
        data: Some(data),
        ..Default::default()
    };
    Object::new(COMPONENT, "configMap", &cm)
}
