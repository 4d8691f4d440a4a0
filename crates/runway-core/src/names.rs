//! The API server's naming rules that schemas do not carry: DNS-1123 names and their
//! per-kind length limits, and label keys and values. Checked on every rendered object,
//! because a bad name otherwise fails at `kubectl apply`, or later (a StatefulSet whose
//! name is over 52 characters is accepted but never makes pods).

use crate::error::{Error, ErrorKind};
use crate::path::KeyPath;
use crate::pointer::JsonPointer as _;

/// DNS-1123 label: at most 63 characters, lowercase alphanumerics and `-`, alphanumeric at
/// both ends.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// DNS-1035 label (a Service's name): a DNS-1123 label that starts with a letter.
pub fn is_dns_1035_label(s: &str) -> bool {
    is_dns_label(s) && s.as_bytes()[0].is_ascii_lowercase()
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

/// The shape a kind's name must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NameRule {
    /// DNS-1123 subdomain.
    Subdomain,
    /// DNS-1123 label.
    Label,
    /// DNS-1035 label (starts with a letter).
    Label1035,
}

/// The longest name a kind allows, and its shape.
fn name_rule(kind: &str) -> (usize, NameRule) {
    match kind {
        // Pods get `NAME-<ordinal>` and the controller-revision-hash label `NAME-<10 chars>`
        // must stay within 63 characters.
        "StatefulSet" => (52, NameRule::Label),
        // CronJob names Jobs `NAME-<11 digit timestamp>`, within 63 characters.
        "CronJob" => (52, NameRule::Label),
        // A Service's name is a DNS name of its own (`NAME.NAMESPACE.svc`) and an
        // environment variable prefix: the API server requires a DNS-1035 label.
        "Service" => (63, NameRule::Label1035),
        // A Job's name is its pods' `job-name` label value (at most 63 characters).
        "Namespace" | "Job" => (63, NameRule::Label),
        // The API server allows subdomains, but the name goes into pod names and the
        // `app.kubernetes.io/instance`-style labels runway and its users put on pods.
        "Deployment" | "DaemonSet" => (63, NameRule::Subdomain),
        _ => (253, NameRule::Subdomain),
    }
}

/// Checks `metadata.name`, and the label keys and values of the object, its pod template
/// and its selectors. The error's path is relative to the object.
pub fn check_names(obj: &serde_json::Value) -> Result<(), Error> {
    let kind = obj.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    let name = obj.ptr("/metadata/name").and_then(|n| n.as_str()).unwrap_or("");
    let (max, rule) = name_rule(kind);
    let ok = match rule {
        NameRule::Label => is_dns_label(name),
        NameRule::Label1035 => is_dns_1035_label(name),
        NameRule::Subdomain => is_dns_subdomain(name),
    };
    if !ok || name.len() > max {
        let (what, chars) = match rule {
            NameRule::Label => ("a DNS-1123 label", "lowercase letters, digits and `-`"),
            NameRule::Label1035 => ("a DNS-1035 label", "lowercase letters, digits and `-`, starting with a letter"),
            NameRule::Subdomain => ("a DNS-1123 subdomain", "lowercase letters, digits, `-` and `.`"),
        };
        let mut e = Error::new(ErrorKind::InvalidObject(format!(
            "`{name}` is not a valid {kind} name: it must be {what} ({chars}) of at most {max} characters"
        )))
        .with_path(KeyPath::root().key("metadata").key("name"));
        if max == 52 && name.len() > max && is_dns_label(name) {
            e = e.note(format!(
                "a {kind}'s pods and revisions are named after it with a suffix that must fit in 63 characters"
            ));
        }
        return Err(e);
    }
    if let Some(map) = obj.ptr("/metadata/annotations").and_then(|a| a.as_object()) {
        for k in map.keys() {
            if !is_qualified_name(k) {
                return Err(Error::new(ErrorKind::InvalidObject(format!(
                    "`{k}` is not a valid annotation key (optional DNS prefix and `/`, then at most 63 alphanumerics, `-`, `_`, `.`)"
                )))
                .with_path(KeyPath::root().key("metadata").key("annotations").key(k)));
            }
        }
    }
    // The label maps of the object, by JSON pointer; the paths for messages are built only
    // when a check fails (this runs for every object of every render).
    const PLACES: [&str; 5] = [
        "/metadata/labels",
        "/spec/template/metadata/labels",
        "/spec/jobTemplate/spec/template/metadata/labels",
        "/spec/selector/matchLabels",
        "/spec/selector",
    ];
    for place in PLACES {
        // A Service's `spec.selector` is a label map; other kinds hold a LabelSelector there.
        if place == "/spec/selector" && kind != "Service" {
            continue;
        }
        if let Some(map) = obj.ptr(place).and_then(|m| m.as_object()) {
            check_label_map(map, || KeyPath::parse(&place[1..].replace('/', ".")).unwrap_or_default())?;
        }
    }
    let claims = obj.ptr("/spec/volumeClaimTemplates").and_then(|v| v.as_array()).map_or(&[][..], Vec::as_slice);
    for (i, claim) in claims.iter().enumerate() {
        if let Some(map) = claim.ptr("/metadata/labels").and_then(|m| m.as_object()) {
            check_label_map(map, || {
                KeyPath::root().key("spec").key("volumeClaimTemplates").index(i).key("metadata").key("labels")
            })?;
        }
    }
    Ok(())
}

/// Checks the keys and values of one label map; `at` gives the map's path for a message.
fn check_label_map(map: &serde_json::Map<String, serde_json::Value>, at: impl Fn() -> KeyPath) -> Result<(), Error> {
    for (k, v) in map {
        if !is_qualified_name(k) {
            return Err(Error::new(ErrorKind::InvalidObject(format!(
                "`{k}` is not a valid label key (optional DNS prefix and `/`, then at most 63 alphanumerics, `-`, `_`, `.`)"
            )))
            .with_path(at().key(k)));
        }
        if let Some(v) = v.as_str() {
            if !is_label_value(v) {
                return Err(Error::new(ErrorKind::InvalidObject(format!(
                    "`{v}` is not a valid label value (at most 63 alphanumerics, `-`, `_`, `.`, alphanumeric at both ends)"
                )))
                .with_path(at().key(k)));
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
    fn service_names_start_with_a_letter() {
        assert!(check_names(&json!({"kind": "Service", "metadata": {"name": "web"}})).is_ok());
        let e = check_names(&json!({"kind": "Service", "metadata": {"name": "1web"}})).unwrap_err();
        assert!(e.to_string().contains("DNS-1035"), "{e}");
        assert!(check_names(&json!({"kind": "ConfigMap", "metadata": {"name": "1web"}})).is_ok());
    }

    #[test]
    fn cronjob_names_stop_at_52_and_jobs_at_63_characters() {
        assert!(check_names(&json!({"kind": "CronJob", "metadata": {"name": "a".repeat(52)}})).is_ok());
        assert!(check_names(&json!({"kind": "CronJob", "metadata": {"name": "a".repeat(53)}})).is_err());
        assert!(check_names(&json!({"kind": "Job", "metadata": {"name": "a".repeat(64)}})).is_err());
    }

    #[test]
    fn bad_annotation_keys_are_found() {
        assert!(check_names(&json!({"kind": "ConfigMap", "metadata": {"name": "c", "annotations": {"a.io/b": "x"}}}))
            .is_ok());
        let e = check_names(&json!({"kind": "ConfigMap", "metadata": {"name": "c", "annotations": {"a b": "x"}}}))
            .unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "metadata.annotations.a b");
    }

    #[test]
    fn bad_label_values_are_found_in_claim_templates() {
        let o = json!({"kind": "StatefulSet", "metadata": {"name": "s"},
            "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data", "labels": {"tier": "-x"}}}]}});
        let e = check_names(&o).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "spec.volumeClaimTemplates[0].metadata.labels.tier");
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
