//! Image references and the registry mirror: with `config.registry_mirror` set, every
//! container image of the render is pulled through the mirror (air-gapped clusters), the
//! registry host replaced and the repository path kept, so `quay.io/a/b:1` becomes
//! `mirror.local/a/b:1` and Docker Hub's `curlimages/curl:8` becomes
//! `mirror.local/curlimages/curl:8`.

use runway_core::{Error, JsonPointer as _, KeyPath, Object};

/// Checks that a parameter at `path` holds an image reference (not empty, no white
/// space); the help shows `example`, the component's default. A tag's existence cannot be
/// checked at render time.
pub fn check_image(image: &str, example: &str, path: KeyPath) -> Result<(), Error> {
    if image.is_empty() || image.chars().any(char::is_whitespace) {
        return Err(Error::invalid(format!("`{image}` is not an image reference"))
            .help(format!("write `registry/repository:tag`, e.g. `{example}`"))
            .with_path(path));
    }
    Ok(())
}

/// The registry host of an image reference, if it names one (Docker's rule: the first
/// path segment is a host when it has a `.` or `:` or is `localhost`).
pub fn registry_of(image: &str) -> Option<&str> {
    let (first, _) = image.split_once('/')?;
    (first.contains('.') || first.contains(':') || first == "localhost").then_some(first)
}

/// `image` pulled through `mirror` (a host, optionally with a path prefix).
pub fn through_mirror(image: &str, mirror: &str) -> String {
    let mirror = mirror.trim_end_matches('/');
    let path = match registry_of(image) {
        Some(host) => &image[host.len() + 1..],
        None => image,
    };
    // Docker Hub's official images live under `library/`.
    let path =
        if registry_of(image).is_none() && !path.contains('/') { format!("library/{path}") } else { path.to_string() };
    format!("{mirror}/{path}")
}

/// True when `image` is pinned by digest (`REPO[:TAG]@sha256:<64 hex digits>`).
pub fn has_digest(image: &str) -> bool {
    image.split_once("@sha256:").is_some_and(|(_, d)| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The pull policy for `image`: `IfNotPresent` when a digest pins it (the node's copy is
/// the same bytes), `Always` when only a tag does (a tag can be moved, and `Always` makes
/// every node run what the tag names now and checks the pull secret each time).
pub fn pull_policy(image: &str) -> &'static str {
    if has_digest(image) {
        "IfNotPresent"
    } else {
        "Always"
    }
}

/// Sets every container's `imagePullPolicy` from its image ([`pull_policy`]); runs on
/// what components build, before layers patch it.
pub fn set_pull_policies(objects: &mut [Object]) {
    for o in objects {
        for pointer in ["/spec/template/spec", "/spec/jobTemplate/spec/template/spec"] {
            // Looked up read-only first: asking for `&mut` copies a shared value (a CRD).
            if o.value.ptr(pointer).is_none() {
                continue;
            }
            let Some(spec) = o.value.pointer_mut(pointer) else { continue };
            for list in ["containers", "initContainers"] {
                for c in spec.get_mut(list).and_then(|c| c.as_array_mut()).into_iter().flatten() {
                    if let Some(policy) = c.get("image").and_then(|i| i.as_str()).map(pull_policy) {
                        c["imagePullPolicy"] = serde_json::Value::String(policy.into());
                    }
                }
            }
        }
    }
}

/// Rewrites every container and init container image of `objects` through `mirror`.
pub fn apply_mirror(objects: &mut [Object], mirror: &str) {
    for o in objects {
        for pointer in ["/spec/template/spec", "/spec/jobTemplate/spec/template/spec", "/spec"] {
            // Read-only first: `&mut` copies a shared value, and only pods are rewritten.
            let has_containers = o.value.ptr(pointer).is_some_and(|s| {
                ["containers", "initContainers"].iter().any(|l| s.get(*l).is_some_and(|c| c.is_array()))
            });
            if !has_containers {
                continue;
            }
            let Some(spec) = o.value.pointer_mut(pointer) else { continue };
            let mut touched = false;
            for list in ["containers", "initContainers"] {
                if let Some(cs) = spec.get_mut(list).and_then(|c| c.as_array_mut()) {
                    for c in cs {
                        if let Some(img) = c.get("image").and_then(|i| i.as_str()).map(|i| through_mirror(i, mirror)) {
                            c["image"] = serde_json::Value::String(img);
                            touched = true;
                        }
                    }
                }
            }
            if touched {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_reference_is_one_word() {
        let at = || KeyPath::root().key("kibana").key("image");
        assert!(check_image("docker.elastic.co/kibana/kibana:8.19.19", "x:1", at()).is_ok());
        for bad in ["", "kibana 8", "kibana\t"] {
            let e = check_image(bad, "docker.elastic.co/kibana/kibana:8.19.19", at()).unwrap_err();
            assert_eq!(e.path().map(ToString::to_string).as_deref(), Some("kibana.image"), "{bad}");
            assert!(e.helps().iter().any(|h| h.contains("e.g. `docker.elastic.co/kibana/kibana:8.19.19`")), "{bad}");
        }
    }

    #[test]
    fn registry_host_is_replaced_and_path_kept() {
        assert_eq!(
            through_mirror("quay.io/prometheus/prometheus:v3", "mirror.local"),
            "mirror.local/prometheus/prometheus:v3"
        );
        assert_eq!(
            through_mirror("docker.elastic.co/elasticsearch/elasticsearch:8.19.19", "m.example:5000/cache/"),
            "m.example:5000/cache/elasticsearch/elasticsearch:8.19.19"
        );
    }

    #[test]
    fn a_digest_pins_the_image_and_relaxes_the_pull_policy() {
        let d = "a".repeat(64);
        assert_eq!(pull_policy(&format!("quay.io/a/b:1.0@sha256:{d}")), "IfNotPresent");
        assert_eq!(pull_policy("quay.io/a/b:1.0"), "Always");
        assert!(!has_digest("quay.io/a/b:1.0@sha256:abc"));
    }

    #[test]
    fn docker_hub_images_get_their_full_path() {
        assert_eq!(through_mirror("curlimages/curl:8.16.0", "m.local"), "m.local/curlimages/curl:8.16.0");
        assert_eq!(through_mirror("busybox:1.37", "m.local"), "m.local/library/busybox:1.37");
    }
}
