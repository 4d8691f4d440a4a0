//! Property tests: generated YAML texts and value trees thrown at the layer reader, the
//! merge engine and the writer. None may panic; merging an empty layer changes nothing;
//! what the writer prints, the reader reads back as the same value.

use proptest::prelude::*;
use runway_core::emit::to_yaml_stream;
use runway_core::layer::parse_layer;
use runway_core::merge::{merge, resolve};
use runway_core::{Node, SourceId, Span};

/// Fragments that matter to a YAML reader: indicators, indentation, tabs, anchors, tags,
/// document markers, block scalars, BKPR's `+` keys and merge directives.
fn yaml_fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a",
        "name",
        "key+",
        "$patch",
        "replace",
        "delete",
        "containers_",
        ":",
        ": ",
        " ",
        "  ",
        "\n",
        "\n  ",
        "\n    ",
        "- ",
        "-",
        "[",
        "]",
        "{",
        "}",
        ",",
        "\"",
        "'",
        "\\",
        "&x ",
        "*x",
        "!!str ",
        "!t ",
        "#",
        "---",
        "...",
        "|",
        ">",
        "|-",
        "\t",
        "?",
        "é",
        "\u{feff}",
        "null",
        "~",
        "1",
        "-1",
        "1.5",
        "1e3",
        "0x1f",
        "on",
        "12:30",
        "true",
        "%YAML 1.2",
        "<<",
        "@",
        "`",
        "\r\n",
    ])
}

fn yaml_text() -> impl Strategy<Value = String> {
    prop::collection::vec(yaml_fragment(), 0..60).prop_map(|v| v.concat())
}

/// Keys that exercise the merge engine's special cases as well as plain keys.
fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "b",
        "name",
        "containers",
        "containers_",
        "env",
        "env_",
        "ports",
        "volumeMounts",
        "mountPath",
        "containerPort",
        "key+",
        "a+",
        "$patch",
        "x_",
    ])
    .prop_map(str::to_string)
}

/// Strings a YAML 1.1 or 1.2 reader might take for something else.
fn scalar_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "on",
            "yes",
            "NO",
            "off",
            "y",
            "~",
            "null",
            "true",
            "12:30",
            "1e3",
            "0x1f",
            "0o7",
            ".5",
            "-",
            "- a",
            "a: b",
            "#c",
            "a #c",
            " lead",
            "trail ",
            "multi\nline",
            "multi\nline\n",
            "tab\there",
            "'q'",
            "\"q\"",
            "{x}",
            "[x]",
            "&a",
            "*a",
            "!t",
            "%d",
            "@at",
            "`tick`",
            "replace",
            "delete",
            "é",
            "\u{feff}bom",
        ])
        .prop_map(str::to_string),
        "[ -~]{0,12}",
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        (-1000i32..1000).prop_map(|n| serde_json::json!(f64::from(n) / 8.0)),
        scalar_string().prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(key(), inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn mapping() -> impl Strategy<Value = serde_json::Value> {
    prop::collection::btree_map(key(), json_value(), 0..6)
        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()))
}

fn node(v: &serde_json::Value, source: u32) -> Node {
    Node::from_json(v, Span { source: SourceId(source), line: 1, col: 1 })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_layer_reader_never_panics(text in yaml_text()) {
        let _ = parse_layer(SourceId(0), &text);
    }

    #[test]
    fn the_layer_reader_never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let _ = parse_layer(SourceId(0), &text);
    }

    #[test]
    fn merging_never_panics(base in mapping(), patch in mapping()) {
        let mut b = node(&base, 0);
        let _ = merge(&mut b, &node(&patch, 1), "");
        let _ = resolve(&node(&patch, 1), "");
    }

    #[test]
    fn merging_an_empty_layer_changes_nothing(base in mapping()) {
        // Component defaults and platform bases are resolved values: directives are gone.
        let Ok(resolved) = resolve(&node(&base, 0), "") else { return Ok(()) };
        let mut merged = resolved.clone();
        merge(&mut merged, &node(&serde_json::json!({}), 1), "").expect("an empty layer always merges");
        prop_assert_eq!(merged.to_json(), resolved.to_json());
    }

    #[test]
    fn what_the_writer_prints_the_reader_reads_back(v in mapping()) {
        let text = to_yaml_stream([&v]);
        let back = parse_layer(SourceId(0), &text);
        prop_assert!(back.is_ok(), "cannot read back:\n{}\n{:?}", text, back.err());
        prop_assert_eq!(back.map(|n| n.to_json()).ok(), Some(v), "text:\n{}", text);
    }
}
