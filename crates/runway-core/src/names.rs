//! The API server's naming rules that schemas do not carry: DNS-1123 names and their
//! per-kind length limits, and label keys and values. Checked on every rendered object,
//! because a bad name otherwise fails at `kubectl apply`, or later (a StatefulSet whose
//! name is over 52 characters is accepted but never makes pods).

use crate::error::{Error, ErrorKind};
use crate::path::KeyPath;

/// DNS-1123 label: at most 63 characters, lowercase alphanumerics and `-`, alphanumeric at
/// both ends.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// DNS-1123 subdomain: at most 253 characters, dot-separated DNS labels.
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A label value: at most 63 characters, alphanumerics, `-`, `_`, `.`, alphanumeric at both
/// ends; empty is allowed.
pub fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric())
}

/// A label or annotation key: an optional DNS subdomain prefix and `/`, then a name of at
/// most 63 characters (alphanumerics, `-`, `_`, `.`, alphanumeric at both ends).
pub fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    prefix.is_none_or(is_dns_subdomain) && !name.is_empty() && is_label_value(name)
}

/// The longest name a kind allows, and whether it must be a DNS label (vs a subdomain).
fn name_rule(kind: &str) -> (usize, bool) {
    match kind {
        // Pods get `NAME-<ordinal>` and the controller-revision-hash label `NAME-<10 chars>`
        // must stay within 63 characters.
        "StatefulSet" => (52, true),
        // CronJob names Jobs `NAME-<11 digit timestamp>`, within 63 characters.
        "CronJob" => (52, true),
        "Service" | "Namespace" => (63, true),
        "Deployment" | "DaemonSet" => (63, false),
        _ => (253, false),
    }
}

/// Checks `metadata.name`, and the label keys and values of the object, its pod template
/// and its selectors. The error's path is relative to the object.
pub fn check_names(obj: &serde_json::Value) -> Result<(), Error> {
    let kind = obj.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    let name = obj.pointer("/metadata/name").and_then(|n| n.as_str()).unwrap_or("");
    let (max, label) = name_rule(kind);
    let ok = if label { is_dns_label(name) } else { is_dns_subdomain(name) };
    if !ok || name.len() > max {
        let rule = if label { "a DNS-1123 label" } else { "a DNS-1123 subdomain" };
        return Err(Error::new(ErrorKind::InvalidObject(format!(
            "`{name}` is not a valid {kind} name: it must be {rule} (lowercase letters, digits and `-`{}) of at most {max} characters",
            if label { "" } else { ", `.`" }
        )))
        .with_path(KeyPath::root().key("metadata").key("name")));
    }
    for at in [
        &["metadata", "labels"][..],
        &["spec", "template", "metadata", "labels"],
        &["spec", "selector", "matchLabels"],
        &["spec", "selector"],
    ] {
        let mut cur = Some(obj);
        for k in at {
            cur = cur.and_then(|c| c.get(*k));
        }
        let Some(map) = cur.and_then(|c| c.as_object()) else { continue };
        // A Service's `spec.selector` is a label map; other kinds hold a LabelSelector there.
        if at == ["spec", "selector"] && kind != "Service" {
            continue;
        }
        let path = at.iter().fold(KeyPath::root(), |p, k| p.key(k));
        for (k, v) in map {
            if !is_qualified_name(k) {
                return Err(Error::new(ErrorKind::InvalidObject(format!(
                    "`{k}` is not a valid label key (optional DNS prefix and `/`, then at most 63 alphanumerics, `-`, `_`, `.`)"
                )))
                .with_path(path.key(k)));
            }
            if let Some(v) = v.as_str() {
                if !is_label_value(v) {
                    return Err(Error::new(ErrorKind::InvalidObject(format!(
                        "`{v}` is not a valid label value (at most 63 alphanumerics, `-`, `_`, `.`, alphanumeric at both ends)"
                    )))
                    .with_path(path.key(k)));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("elasticsearch-logging"));
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }

    #[test]
    fn label_keys_may_have_a_prefix() {
        assert!(is_qualified_name("app.kubernetes.io/name"));
        assert!(is_qualified_name("name"));
        assert!(!is_qualified_name("Bad Prefix/name"));
        assert!(!is_qualified_name("a/"));
    }

    #[test]
    fn statefulset_names_stop_at_52_characters() {
        let long = "a".repeat(53);
        let e = check_names(&json!({"kind": "StatefulSet", "metadata": {"name": long}})).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "metadata.name");
        assert!(check_names(&json!({"kind": "ConfigMap", "metadata": {"name": long}})).is_ok());
    }

    #[test]
    fn uppercase_names_are_rejected() {
        assert!(check_names(&json!({"kind": "ConfigMap", "metadata": {"name": "Config"}})).is_err());
    }

    #[test]
    fn bad_label_values_are_found_in_pod_templates() {
        let o = json!({"kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"template": {"metadata": {"labels": {"version": "1.0 beta"}}}}});
        let e = check_names(&o).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "spec.template.metadata.labels.version");
    }
}
