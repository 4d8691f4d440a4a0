//! The forms a render is written in: a YAML stream, a `v1/List` in JSON, or one file per
//! object for `--output-dir`.

use runway_core::emit;

use crate::render::Rendered;

impl Rendered {
    /// The objects as a YAML stream (`---` between documents).
    pub fn to_yaml(&self) -> String {
        emit::to_yaml_stream(self.objects.iter().map(|o| &o.value))
    }

    /// The objects as a pretty-printed `v1/List`.
    pub fn to_json_list(&self) -> String {
        let items: Vec<serde_json::Value> = self.objects.iter().map(|o| o.value.clone()).collect();
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items});
        emit::to_json_pretty(&list)
    }

    /// One file per object for `--output-dir`: `COMPONENT/KIND-NAME.yaml`, in canonical order.
    pub fn files(&self) -> Vec<(String, String)> {
        self.objects
            .iter()
            .map(|o| {
                let file = format!("{}/{}-{}.yaml", o.component, o.kind().to_ascii_lowercase(), o.name());
                (file, emit::to_yaml_stream(std::iter::once(&o.value)))
            })
            .collect()
    }

    /// One JSON file per object for `--output-dir --format json`: `COMPONENT/KIND-NAME.json`.
    pub fn files_json(&self) -> Vec<(String, String)> {
        self.objects
            .iter()
            .map(|o| {
                let file = format!("{}/{}-{}.json", o.component, o.kind().to_ascii_lowercase(), o.name());
                (file, emit::to_json_pretty(&o.value))
            })
            .collect()
    }
}
