//! `runway schema`: a JSON schema for layer files, so editors complete and check them.

use runway_components::{ClusterConfig, Platform, ALL};
use runway_core::params::schema_of;
use serde_json::{json, Map, Value};

/// The schema of a layer file: `platform`, `config` and one block per component (its
/// parameters, plus its object keys as free-form patches).
pub fn layer_schema() -> String {
    let mut props = Map::new();
    let mut defs = Map::new();
    let mut aliases = Vec::new();
    let mut add = |name: &str, mut schema: Value, objects: &[(&str, &str)]| {
        if let Some(d) = schema.as_object_mut().and_then(|o| o.remove("$defs")) {
            if let Some(d) = d.as_object() {
                for (k, v) in d {
                    defs.insert(k.clone(), v.clone());
                }
            }
        }
        if let Some(p) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) {
            for (key, kind) in objects {
                p.insert(
                    (*key).to_string(),
                    json!({"type": ["object", "null"], "description": format!("patch of the {kind} (strategic merge), or null to leave it out")}),
                );
            }
        }
        if let Some(o) = schema.as_object_mut() {
            o.remove("$schema");
        }
        props.insert(name.to_string(), schema);
    };
    add("platform", schema_of::<Platform>(), &[]);
    add("config", schema_of::<ClusterConfig>(), &[]);
    for c in ALL {
        let objects: Vec<(&str, &str)> = c.objects().iter().map(|o| (o.key, o.kind)).collect();
        add(c.name(), c.params_schema(), &objects);
        for alias in c.aliases() {
            aliases.push(((*alias).to_string(), json!({"$ref": format!("#/properties/{}", c.name())})));
        }
    }
    props.extend(aliases);
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "runway layer",
        "description": "A runway layer: platform facts, cluster config and component blocks. Keys may end with `+` (jsonnet-style merge/append).",
        "type": "object",
        "properties": props,
        "$defs": defs,
    });
    runway_core::emit::to_json_pretty(&schema)
}
