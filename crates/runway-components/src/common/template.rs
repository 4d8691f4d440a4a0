//! Config files (not objects) rendered with minijinja: strict about undefined values and
//! never auto-escaping, whatever the template's file extension (minijinja's default
//! JSON-escapes `*.yaml`/`*.json` templates and prints undefined values as "").

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use runway_core::Error;
use serde::Serialize;

/// Renders `source` (a template embedded with `include_str!`, named `name` in messages)
/// with `context`. A template error is a bug in runway or a bad parameter value, and is
/// reported as an invalid value of the component.
pub fn render_template<S: Serialize>(name: &str, source: &str, context: S) -> Result<String, Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    let syntax = SyntaxConfig::builder().keep_trailing_newline(true).trim_blocks(true).lstrip_blocks(true).build();
    syntax
        .map(|s| env.set_syntax(s))
        .and_then(|()| env.add_template(name, source))
        .and_then(|()| env.get_template(name))
        .and_then(|t| t.render(minijinja::value::Value::from(minijinja::value::Serde(context))))
        .map_err(|e| Error::invalid(format!("template `{name}` failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_values_are_errors() {
        assert!(render_template("x.conf", "{{ missing }}", serde_json::json!({})).is_err());
    }

    #[test]
    fn yaml_templates_are_not_escaped() {
        let out = render_template("x.yaml", "a: {{ v }}\n", serde_json::json!({"v": "\"q\" & <b>"})).unwrap();
        assert_eq!(out, "a: \"q\" & <b>\n");
    }
}
