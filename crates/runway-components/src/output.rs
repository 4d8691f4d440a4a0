//! The forms a render is written in: a YAML stream, a `v1/List` in JSON, or one file per
//! object for `--output-dir`.

use runway_core::emit;
use runway_core::JsonPointer as _;

use crate::render::Rendered;

impl Rendered {
    /// The objects as a YAML stream (`---` between documents).
    pub fn to_yaml(&self) -> String {
        emit::to_yaml_stream(self.objects.iter().map(|o| &*o.value))
    }

    /// The objects as a pretty-printed `v1/List`.
    pub fn to_json_list(&self) -> String {
        let items: Vec<serde_json::Value> = self.objects.iter().map(|o| (*o.value).clone()).collect();
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items});
        emit::to_json_pretty(&list)
    }

    /// One file per object for `--output-dir`: `COMPONENT/KIND-NAME.yaml`, in canonical order.
    pub fn files(&self) -> Vec<(String, FileText)> {
        self.files_with(false, None)
    }

    /// One JSON file per object for `--output-dir --format json`: `COMPONENT/KIND-NAME.json`.
    pub fn files_json(&self) -> Vec<(String, FileText)> {
        self.files_with(true, None)
    }

    /// The per-object files, each object's text taken from `memo` when an earlier render
    /// wrote an equal object (the bytes are the same either way).
    fn files_with(&self, json: bool, memo: Option<&TextMemo>) -> Vec<(String, FileText)> {
        let ext = if json { "json" } else { "yaml" };
        self.objects
            .iter()
            .map(|o| {
                let file = format!("{}/{}-{}.{ext}", o.component, o.kind().to_ascii_lowercase(), o.name());
                let text = match memo {
                    Some(m) => m.text(o, json),
                    None => object_text(&o.value, json).into(),
                };
                (file, text)
            })
            .collect()
    }
}

/// A file's text: shared, because a fleet writes the same text (a CRD: 300 KB) into
/// every cluster's folder, and copying it per cluster was a measurable part of a fleet.
pub type FileText = std::sync::Arc<str>;

/// The text of one object's file: a one-document YAML stream, or pretty JSON.
fn object_text(value: &serde_json::Value, json: bool) -> String {
    if json {
        emit::to_json_pretty(value)
    } else {
        emit::to_yaml_stream(std::iter::once(value))
    }
}

/// Objects' file texts remembered across the renders of a fleet.
///
/// The clusters of a fleet share most of their objects byte for byte (CRDs, RBAC, most
/// workloads; what differs is a host name, a checksum, a replica count). Comparing a
/// value with the one written before is several times cheaper than writing it again, and
/// the cert-manager CRDs alone are most of a cluster's bytes (shared between clusters, so
/// compared by pointer: [`runway_core::SharedValue`]), so a fleet keeps the text of
/// the first cluster's object under each (component, key, format) and reuses it for every
/// later cluster whose object is equal. An object that differs is written afresh and not
/// remembered (the first one stays), so the memo holds at most one text per object key,
/// and what is written never depends on which cluster a thread rendered first.
#[derive(Debug, Default)]
pub struct TextMemo {
    seen: std::sync::RwLock<MemoMap>,
}

type MemoMap = std::collections::BTreeMap<(String, String, bool), (runway_core::SharedValue, FileText)>;

impl TextMemo {
    /// An empty memo.
    pub fn new() -> Self {
        Self::default()
    }

    /// The file text of `o` (YAML, or JSON with `json`): remembered if an equal object was
    /// written before, else written now (and remembered if nothing was under its key).
    pub fn text(&self, o: &runway_core::Object, json: bool) -> FileText {
        let key = (o.component.clone(), o.key.clone(), json);
        // A poisoned lock means another thread panicked mid-insert; the map itself is
        // still whole (inserts are single calls), so its content is used as it is.
        let known = self.seen.read().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
        if let Some((value, text)) = known {
            if value == o.value {
                return text;
            }
            return object_text(&o.value, json).into();
        }
        let text: FileText = object_text(&o.value, json).into();
        let mut seen = self.seen.write().unwrap_or_else(|e| e.into_inner());
        seen.entry(key).or_insert_with(|| (o.value.clone(), text.clone()));
        text
    }
}

/// What GitOps tools need on top of the objects; every option is off by default, and
/// [`Rendered::apply_gitops`] adds only metadata (labels, annotations) and, for
/// `applyset`, one parent object, so the objects themselves stay byte-exact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitOpsOptions {
    /// `--output-dir` also writes `kustomization.yaml` listing the files in apply order
    /// (for `kubectl apply -k` and Flux). Default: off.
    pub kustomization: bool,
    /// Objects whose text contains `${` get `kustomize.toolkit.fluxcd.io/substitute:
    /// disabled`, so Flux's post-build substitution leaves config files as they are.
    /// Default: off.
    pub flux_safe: bool,
    /// An ApplySet: `(namespace, name)` of its parent Secret (namespace `None`: the
    /// namespace holding most objects). Default: none.
    pub applyset: Option<(Option<String>, String)>,
    /// `argocd.argoproj.io/sync-wave` annotations by kind (see [`sync_wave`]). Default: off.
    pub argocd_sync_waves: bool,
}

/// The annotation Flux's kustomize-controller reads to skip variable substitution.
pub const FLUX_SUBSTITUTE: &str = "kustomize.toolkit.fluxcd.io/substitute";
/// The annotation Argo CD orders a sync by.
pub const ARGOCD_SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// The label that makes an object a member of an ApplySet (kubectl's `ApplysetPartOfLabel`).
pub const APPLYSET_PART_OF: &str = "applyset.kubernetes.io/part-of";
/// The label that makes an object an ApplySet parent (kubectl's `ApplySetParentIDLabel`).
pub const APPLYSET_ID: &str = "applyset.kubernetes.io/id";

/// The tooling annotation of the ApplySet parent. kubectl refuses to touch a parent whose
/// tooling name is not `kubectl` ("ApplySet ownership mismatch"), and kubectl is what
/// applies and prunes the set, so the parent names kubectl, at the oldest version runway
/// supports.
pub const APPLYSET_TOOLING: &str = "kubectl/v1.33";

/// The ApplySet id of a parent, as kubectl computes it (`applyset.go`, `ID()`):
/// `applyset-` + base64url without padding of sha256(`NAME.NAMESPACE.KIND.GROUP`) + `-v1`.
pub fn applyset_id(name: &str, namespace: &str, kind: &str, group: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(format!("{name}.{namespace}.{kind}.{group}").as_bytes());
    format!("applyset-{}-v1", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash))
}

/// Argo CD's sync wave of a kind: Namespaces and CRDs first (-2); RBAC, ServiceAccounts,
/// configuration and storage (-1); Services and workloads (0); what refers to a workload
/// or needs a CRD or a webhook (Ingresses, HPAs, PDBs, webhooks, APIServices, custom
/// resources) last (1).
pub fn sync_wave(kind: &str) -> i32 {
    match kind {
        "Namespace" | "CustomResourceDefinition" => -2,
        "ServiceAccount"
        | "ClusterRole"
        | "ClusterRoleBinding"
        | "Role"
        | "RoleBinding"
        | "Secret"
        | "ConfigMap"
        | "StorageClass"
        | "PersistentVolume"
        | "PersistentVolumeClaim"
        | "PriorityClass"
        | "NetworkPolicy"
        | "ResourceQuota"
        | "LimitRange"
        | "IngressClass" => -1,
        "Service" | "DaemonSet" | "Deployment" | "StatefulSet" | "ReplicaSet" | "Pod" | "Job" | "CronJob" => 0,
        // HPAs, PDBs, Ingresses, webhooks, APIServices and every custom resource.
        _ => 1,
    }
}

fn meta_map<'a>(
    obj: &'a mut serde_json::Value,
    field: &str,
) -> Option<&'a mut serde_json::Map<String, serde_json::Value>> {
    let meta = obj.as_object_mut()?.entry("metadata").or_insert_with(|| serde_json::json!({}));
    let map = meta.as_object_mut()?.entry(field).or_insert_with(|| serde_json::json!({}));
    if !map.is_object() {
        *map = serde_json::json!({});
    }
    map.as_object_mut()
}

impl Rendered {
    /// Adds what `opts` asks for: Flux's substitution opt-out, Argo CD's sync waves, and
    /// an ApplySet parent with part-of labels. Objects stay in canonical order.
    pub fn apply_gitops(&mut self, opts: &GitOpsOptions) {
        let crd_groups: Vec<String> = self
            .objects
            .iter()
            .filter(|o| o.kind() == "CustomResourceDefinition")
            .filter_map(|o| o.value.ptr("/spec/group").and_then(|g| g.as_str()).map(str::to_string))
            .collect();
        for o in &mut self.objects {
            if opts.flux_safe && serde_json::to_string(&o.value).is_ok_and(|t| t.contains("${")) {
                if let Some(a) = meta_map(&mut o.value, "annotations") {
                    a.insert(FLUX_SUBSTITUTE.into(), "disabled".into());
                }
            }
            if opts.argocd_sync_waves {
                let wave = sync_wave(o.kind());
                let group = o.api_version().split_once('/').map(|(g, _)| g.to_string()).unwrap_or_default();
                if let Some(a) = meta_map(&mut o.value, "annotations") {
                    a.insert(ARGOCD_SYNC_WAVE.into(), wave.to_string().into());
                    // Argo CD's dry run fails on a custom resource whose CRD is not in the
                    // cluster yet; this render installs that CRD in an earlier wave.
                    if crd_groups.contains(&group) {
                        a.insert("argocd.argoproj.io/sync-options".into(), "SkipDryRunOnMissingResource=true".into());
                    }
                }
            }
        }
        if let Some((ns, name)) = &opts.applyset {
            self.add_applyset(ns.as_deref(), name);
        }
    }

    fn add_applyset(&mut self, namespace: Option<&str>, name: &str) {
        use k8s_openapi::api::core::v1::Secret;
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
        use std::collections::{BTreeMap, BTreeSet};

        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for o in &self.objects {
            if !o.namespace().is_empty() {
                *counts.entry(o.namespace()).or_default() += 1;
            }
        }
        // The namespace holding most objects (the first by name on a tie), else `default`.
        let busiest = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(n, _)| n.to_string());
        let ns = namespace.map(str::to_string).or(busiest).unwrap_or_else(|| "default".to_string());
        let id = applyset_id(name, &ns, "Secret", "");
        let mut kinds = BTreeSet::new();
        let mut other_ns = BTreeSet::new();
        for o in &mut self.objects {
            let group = o.api_version().split_once('/').map(|(g, _)| g.to_string()).unwrap_or_default();
            kinds.insert(if group.is_empty() { o.kind().to_string() } else { format!("{}.{group}", o.kind()) });
            if !o.namespace().is_empty() && o.namespace() != ns {
                other_ns.insert(o.namespace().to_string());
            }
            if let Some(l) = meta_map(&mut o.value, "labels") {
                l.insert(APPLYSET_PART_OF.into(), id.clone().into());
            }
        }
        let annotations = BTreeMap::from([
            ("applyset.kubernetes.io/tooling".to_string(), APPLYSET_TOOLING.to_string()),
            (
                "applyset.kubernetes.io/contains-group-kinds".to_string(),
                kinds.into_iter().collect::<Vec<_>>().join(","),
            ),
            (
                "applyset.kubernetes.io/additional-namespaces".to_string(),
                other_ns.into_iter().collect::<Vec<_>>().join(","),
            ),
        ]);
        let parent = Secret {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some(ns),
                labels: Some(BTreeMap::from([(APPLYSET_ID.to_string(), id)])),
                annotations: Some(annotations),
                ..Default::default()
            },
            ..Default::default()
        };
        self.objects.push(runway_core::Object::new("applyset", "parent", &parent));
        runway_core::object::sort_canonical(&mut self.objects);
    }

    /// The `--output-dir` files (YAML, or JSON with `json`), with `kustomization.yaml`
    /// listing them in apply order when `opts.kustomization` is on.
    pub fn files_for(&self, json: bool, opts: &GitOpsOptions) -> Vec<(String, FileText)> {
        self.files_memo(json, opts, None)
    }

    /// [`Rendered::files_for`], with objects' texts shared through `memo` (fleets).
    pub fn files_memo(&self, json: bool, opts: &GitOpsOptions, memo: Option<&TextMemo>) -> Vec<(String, FileText)> {
        let mut files = self.files_with(json, memo);
        if opts.kustomization {
            let resources: Vec<serde_json::Value> = files.iter().map(|(f, _)| f.clone().into()).collect();
            // `fifo` keeps the files' order (apply order) instead of kustomize's own sort.
            let k = serde_json::json!({
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": resources,
                "sortOptions": {"order": "fifo"},
            });
            files.push(("kustomization.yaml".to_string(), emit::to_yaml_stream(std::iter::once(&k)).into()));
        }
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gke() -> Rendered {
        let mut s = crate::Stack::new();
        s.platform("kind", "test").unwrap();
        s.render(crate::ALL).unwrap()
    }

    #[test]
    fn applyset_id_is_kubectls() {
        // kubectl's own test (apply_test.go): Secret `my-set` in namespace `test`.
        assert_eq!(
            applyset_id("my-set", "test", "Secret", ""),
            "applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1"
        );
    }

    #[test]
    fn applyset_labels_every_object_and_adds_its_parent() {
        let mut out = gke();
        let n = out.objects.len();
        out.apply_gitops(&GitOpsOptions { applyset: Some((None, "runway".into())), ..Default::default() });
        assert_eq!(out.objects.len(), n + 1);
        let parent = out.objects.iter().find(|o| o.component == "applyset").unwrap();
        let id = applyset_id("runway", "kubeprod", "Secret", "");
        assert_eq!(parent.value["metadata"]["labels"][APPLYSET_ID], id.as_str());
        assert_eq!(parent.namespace(), "kubeprod", "the namespace holding most objects");
        let kinds =
            parent.value["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"].as_str().unwrap();
        assert!(kinds.contains("StatefulSet.apps") && kinds.contains(",Namespace,"), "{kinds}");
        for o in out.objects.iter().filter(|o| o.component != "applyset") {
            assert_eq!(o.value["metadata"]["labels"][APPLYSET_PART_OF], id.as_str(), "{}", o.name());
        }
    }

    #[test]
    fn flux_safe_marks_only_objects_holding_a_substitution() {
        let plain = gke();
        let mut out = plain.clone();
        out.apply_gitops(&GitOpsOptions { flux_safe: true, ..Default::default() });
        let marked: Vec<_> =
            out.objects.iter().filter(|o| o.value["metadata"]["annotations"][FLUX_SUBSTITUTE] == "disabled").collect();
        assert!(!marked.is_empty(), "fluentd's and prometheus' configs hold `${{...}}`");
        for (a, b) in plain.objects.iter().zip(&out.objects) {
            let has = serde_json::to_string(&a.value).unwrap().contains("${");
            assert_eq!(has, b.value["metadata"]["annotations"][FLUX_SUBSTITUTE] == "disabled", "{}", a.name());
            // Apart from the annotation the object is unchanged (data byte-exact).
            assert_eq!(a.value.get("data"), b.value.get("data"));
        }
    }

    #[test]
    fn sync_waves_put_namespaces_and_crds_first_and_custom_resources_last() {
        let mut out = gke();
        out.apply_gitops(&GitOpsOptions { argocd_sync_waves: true, ..Default::default() });
        let wave = |kind: &str| -> Vec<String> {
            out.objects
                .iter()
                .filter(|o| o.kind() == kind)
                .map(|o| o.value["metadata"]["annotations"][ARGOCD_SYNC_WAVE].as_str().unwrap().to_string())
                .collect()
        };
        assert!(wave("Namespace").iter().all(|w| w == "-2"));
        assert!(wave("CustomResourceDefinition").iter().all(|w| w == "-2"));
        assert!(wave("ServiceAccount").iter().all(|w| w == "-1"));
        assert!(wave("StatefulSet").iter().all(|w| w == "0"));
        assert!(wave("Ingress").iter().all(|w| w == "1"));
        let issuer = out.objects.iter().find(|o| o.kind() == "ClusterIssuer").unwrap();
        assert_eq!(issuer.value["metadata"]["annotations"][ARGOCD_SYNC_WAVE], "1");
        assert_eq!(
            issuer.value["metadata"]["annotations"]["argocd.argoproj.io/sync-options"],
            "SkipDryRunOnMissingResource=true"
        );
    }

    #[test]
    fn kustomization_lists_every_file_in_apply_order() {
        let out = gke();
        let files = out.files_for(false, &GitOpsOptions { kustomization: true, ..Default::default() });
        let (name, k) = files.last().unwrap();
        assert_eq!(name, "kustomization.yaml");
        let listed: Vec<&str> = k.lines().filter_map(|l| l.strip_prefix("- ")).collect();
        let expected: Vec<&str> = files[..files.len() - 1].iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(listed, expected);
        assert!(k.contains("order: fifo"));
    }

    fn zone(zone: &str) -> Rendered {
        let mut s = crate::Stack::new();
        s.platform("gke", "test").unwrap();
        s.set("config.cloud.gcp_project=example", false).unwrap();
        s.set(&format!("config.dns_zone={zone}"), false).unwrap();
        s.render(crate::ALL).unwrap()
    }

    #[test]
    fn remembered_texts_are_the_texts_written_afresh() {
        let (a, b) = (zone("a.example.com"), zone("b.example.com"));
        let memo = TextMemo::new();
        for json in [false, true] {
            for out in [&a, &b, &a] {
                let opts = GitOpsOptions::default();
                assert_eq!(out.files_memo(json, &opts, Some(&memo)), out.files_for(json, &opts));
            }
        }
        // The clusters differ (host names), so some objects were written afresh.
        assert_ne!(a.files(), b.files());
    }

    #[test]
    fn equal_objects_of_a_later_cluster_reuse_the_first_text() {
        let (a, b) = (zone("a.example.com"), zone("b.example.com"));
        let memo = TextMemo::new();
        let text = |r: &Rendered, kind: &str, name: &str| {
            let o = r.objects.iter().find(|o| o.kind() == kind && o.name() == name).expect("rendered");
            memo.text(o, false)
        };
        for (kind, name) in [("CustomResourceDefinition", "issuers.cert-manager.io"), ("ServiceAccount", "kibana")] {
            let first = text(&a, kind, name);
            assert!(std::sync::Arc::ptr_eq(&first, &text(&b, kind, name)), "{kind} {name} is remembered");
        }
        // The Ingresses name each cluster's host: written afresh, not taken from the memo.
        let first = text(&a, "Ingress", "kibana-logging");
        let second = text(&b, "Ingress", "kibana-logging");
        assert!(!std::sync::Arc::ptr_eq(&first, &second));
        assert!(second.contains("b.example.com") && !second.contains("a.example.com"));
    }

    #[test]
    fn vendored_crds_stay_shared_through_the_whole_pipeline() {
        // Nothing between the build and the output may ask for `&mut` on an object it
        // does not change: that would copy each CRD per render (a fleet's main cost).
        let (a, b) = (zone("a.example.com"), zone("b.example.com"));
        let crds = |r: &Rendered| -> Vec<runway_core::SharedValue> {
            r.objects.iter().filter(|o| o.kind() == "CustomResourceDefinition").map(|o| o.value.clone()).collect()
        };
        let (ca, cb) = (crds(&a), crds(&b));
        assert_eq!(ca.len(), 6);
        assert!(ca.iter().zip(&cb).all(|(x, y)| x.shares_with(y)));
    }
}
