//! Placeholder until the emitter lands (being written in parallel).
/// x
pub fn to_yaml_stream<'a>(values: impl IntoIterator<Item = &'a serde_json::Value>) -> String { values.into_iter().map(|v| serde_json::to_string(v).unwrap_or_default()).collect::<Vec<_>>().join("\n---\n") }
/// x
pub fn to_json_pretty(value: &serde_json::Value) -> String { serde_json::to_string_pretty(value).unwrap_or_default() }
