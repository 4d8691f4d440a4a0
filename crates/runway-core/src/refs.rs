//! Cross-object references of a whole render, checked before anything is printed:
//!
//! - a Service's selector matches the pod template of a workload in its namespace;
//! - a StatefulSet's `serviceName` is a headless Service of its namespace;
//! - a PodDisruptionBudget's selector matches a pod template; an HPA's target exists;
//! - an HPA's target has the `apiVersion` the HPA names and a selector that selects its
//!   own pods;
//! - ConfigMaps, Secrets (volumes, projected volumes, env, `imagePullSecrets`), PVCs, the
//!   ServiceAccount and the PriorityClass a pod uses exist (claims may come from the
//!   StatefulSet's own `volumeClaimTemplates`; optional references may be absent);
//! - a RoleBinding's Role and ServiceAccount subjects exist;
//! - an Ingress backend names a Service port that exists.
//!
//! Objects outside the render may be declared external by `(kind, namespace, name)`.

use crate::pointer::JsonPointer as _;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as J;

use crate::error::Error;
use crate::object::Object;
use crate::path::{KeyPath, Segment};
use crate::validate::selectors::selector_matches;

/// `(kind, namespace, name)` of an object that exists outside the render.
pub type ExternalRef = (String, String, String);

/// A label map as JSON.
type Labels = serde_json::Map<String, J>;

/// Built-in PriorityClasses and ClusterRoles that every cluster has.
const BUILTIN_PRIORITY_CLASSES: &[&str] = &["system-cluster-critical", "system-node-critical"];

/// The ConfigMap every namespace has.
const BUILTIN_CONFIG_MAP: &str = "kube-root-ca.crt";

/// Checks every reference; the error names the object (`component.key` and the field).
pub fn check_references(objects: &[Object], external: &BTreeSet<ExternalRef>) -> Result<(), Error> {
    let mut exists: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
    for o in objects {
        exists.insert((o.kind(), o.namespace(), o.name()));
    }
    let has = |kind: &str, ns: &str, name: &str| {
        // Every namespace holds the cluster's CA bundle (kube-root-ca.crt, published by the
        // controller manager since Kubernetes 1.20): projected token volumes mount it.
        (kind == "ConfigMap" && name == BUILTIN_CONFIG_MAP)
            || exists.contains(&(kind, ns, name))
            || external.contains(&(kind.to_string(), ns.to_string(), name.to_string()))
    };
    // Pod template labels by namespace.
    let mut templates: BTreeMap<&str, Vec<&Labels>> = BTreeMap::new();
    for o in objects {
        if let Some(l) = pod_template(&o.value).and_then(|t| t.ptr("/metadata/labels")).and_then(J::as_object) {
            templates.entry(o.namespace()).or_default().push(l);
        }
    }
    let matches_some = |ns: &str, sel: &Labels| {
        templates.get(ns).is_some_and(|ts| ts.iter().any(|labels| sel.iter().all(|(k, v)| labels.get(k) == Some(v))))
    };
    let fail = |o: &Object, path: KeyPath, msg: String| crate::validate::finding(o, &path, msg);

    for o in objects {
        let ns = o.namespace();
        let v = &o.value;
        match o.kind() {
            "Service" => {
                if let Some(sel) = v.ptr("/spec/selector").and_then(J::as_object) {
                    if !sel.is_empty() && !matches_some(ns, sel) {
                        return Err(fail(
                            o,
                            KeyPath::root().key("spec").key("selector"),
                            format!(
                                "Service `{}` selects {} but no pod template in namespace `{ns}` has those labels",
                                o.name(),
                                J::Object(sel.clone())
                            ),
                        ));
                    }
                }
            }
            "StatefulSet" => {
                if let Some(svc) = v.ptr("/spec/serviceName").and_then(J::as_str) {
                    let headless =
                        objects.iter().find(|s| s.kind() == "Service" && s.namespace() == ns && s.name() == svc);
                    match headless {
                        Some(s) if s.value.ptr("/spec/clusterIP").and_then(J::as_str) == Some("None") => {}
                        Some(_) => {
                            return Err(fail(o, KeyPath::root().key("spec").key("serviceName"), format!(
                                "serviceName `{svc}` is not a headless Service (it needs `clusterIP: None` for stable pod DNS names)"
                            )))
                        }
                        None if has("Service", ns, svc) => {}
                        None => {
                            return Err(fail(o, KeyPath::root().key("spec").key("serviceName"), format!(
                                "serviceName `{svc}` names no Service in namespace `{ns}`"
                            )))
                        }
                    }
                }
            }
            "PodDisruptionBudget" => {
                if let Some(sel) = v.ptr("/spec/selector") {
                    let selects = templates.get(ns).is_some_and(|ts| ts.iter().any(|l| selector_matches(sel, l)));
                    if !selects {
                        return Err(fail(
                            o,
                            KeyPath::root().key("spec").key("selector"),
                            format!("PodDisruptionBudget `{}` selects no pod template in namespace `{ns}`", o.name()),
                        ));
                    }
                }
            }
            "HorizontalPodAutoscaler" => {
                let kind = v.ptr("/spec/scaleTargetRef/kind").and_then(J::as_str).unwrap_or("");
                let name = v.ptr("/spec/scaleTargetRef/name").and_then(J::as_str).unwrap_or("");
                if !has(kind, ns, name) {
                    return Err(fail(
                        o,
                        KeyPath::root().key("spec").key("scaleTargetRef"),
                        format!("scale target {kind} `{name}` is not rendered in namespace `{ns}`"),
                    ));
                }
                let target = objects.iter().find(|t| t.kind() == kind && t.namespace() == ns && t.name() == name);
                if let Some(t) = target {
                    let api = v.ptr("/spec/scaleTargetRef/apiVersion").and_then(J::as_str).unwrap_or("");
                    if api != t.api_version() {
                        return Err(fail(
                            o,
                            KeyPath::root().key("spec").key("scaleTargetRef").key("apiVersion"),
                            format!("scale target {kind} `{name}` is `{}`, not `{api}`", t.api_version()),
                        ));
                    }
                    let labels = pod_template(&t.value).and_then(|p| p.ptr("/metadata/labels")).and_then(J::as_object);
                    let sel = t.value.ptr("/spec/selector");
                    if let (Some(sel), Some(labels)) = (sel, labels) {
                        if !selector_matches(sel, labels) {
                            return Err(fail(
                                o,
                                KeyPath::root().key("spec").key("scaleTargetRef"),
                                format!("scale target {kind} `{name}` has a selector that misses its own pods, so the HPA sees no pods to measure"),
                            ));
                        }
                    }
                }
            }
            "Ingress" => {
                let rules = v.ptr("/spec/rules").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]);
                for (ri, r) in rules.iter().enumerate() {
                    let paths = r.ptr("/http/paths").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]);
                    for (pi, p) in paths.iter().enumerate() {
                        let Some(b) = p.ptr("/backend/service") else { continue };
                        let at = KeyPath::root().key("spec").key("rules").index(ri).key("http").key("paths").index(pi);
                        let name = b.get("name").and_then(J::as_str).unwrap_or("");
                        let svc =
                            objects.iter().find(|s| s.kind() == "Service" && s.namespace() == ns && s.name() == name);
                        let Some(svc) = svc else {
                            if has("Service", ns, name) {
                                continue;
                            }
                            return Err(fail(
                                o,
                                at,
                                format!("backend Service `{name}` is not rendered in namespace `{ns}`"),
                            ));
                        };
                        let ports =
                            svc.value.ptr("/spec/ports").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]);
                        let found = match (b.ptr("/port/name").and_then(J::as_str), b.ptr("/port/number")) {
                            (Some(pn), _) => ports.iter().any(|p| p.get("name").and_then(J::as_str) == Some(pn)),
                            (None, Some(num)) => ports.iter().any(|p| p.get("port") == Some(num)),
                            _ => false,
                        };
                        if !found {
                            return Err(fail(o, at, format!("backend port of Service `{name}` does not exist on it")));
                        }
                    }
                }
            }
            "RoleBinding" | "ClusterRoleBinding" => {
                let kind = v.ptr("/roleRef/kind").and_then(J::as_str).unwrap_or("");
                let name = v.ptr("/roleRef/name").and_then(J::as_str).unwrap_or("");
                let role_ns = if kind == "Role" { ns } else { "" };
                let builtin = kind == "ClusterRole"
                    && (name.starts_with("system:") || matches!(name, "view" | "edit" | "admin" | "cluster-admin"));
                if !builtin && !has(kind, role_ns, name) {
                    return Err(fail(o, KeyPath::root().key("roleRef"), format!("{kind} `{name}` is not rendered")));
                }
                for (i, s) in
                    v.get("subjects").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate()
                {
                    if s.get("kind").and_then(J::as_str) == Some("ServiceAccount") {
                        let sname = s.get("name").and_then(J::as_str).unwrap_or("");
                        let sns = s.get("namespace").and_then(J::as_str).unwrap_or(ns);
                        if !has("ServiceAccount", sns, sname) && sname != "default" {
                            return Err(fail(
                                o,
                                KeyPath::root().key("subjects").index(i),
                                format!("ServiceAccount `{sname}` is not rendered in namespace `{sns}`"),
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
        if let Some(spec) = pod_template(v).and_then(|t| t.get("spec")) {
            let base = pod_spec_path(v);
            check_pod_refs(o, spec, &base, &has).map_err(|(path, msg)| fail(o, path, msg))?;
        }
    }
    Ok(())
}

/// The pod template of a workload (`spec.template`, or a CronJob's job template's).
fn pod_template(v: &J) -> Option<&J> {
    v.ptr("/spec/template").or_else(|| v.ptr("/spec/jobTemplate/spec/template"))
}

fn pod_spec_path(v: &J) -> KeyPath {
    if v.ptr("/spec/template").is_some() {
        KeyPath::root().key("spec").key("template").key("spec")
    } else {
        KeyPath::root().key("spec").key("jobTemplate").key("spec").key("template").key("spec")
    }
}

fn check_pod_refs(
    o: &Object,
    spec: &J,
    base: &KeyPath,
    has: &dyn Fn(&str, &str, &str) -> bool,
) -> Result<(), (KeyPath, String)> {
    let ns = o.namespace();
    // The pod's references, as the graph sees them ([`pod_references`]), each checked.
    let mut refs: Vec<(KeyPath, RefKind, ExternalRef, bool)> = Vec::new();
    pod_references(spec, base, ns, &mut |path, kind, target, optional| refs.push((path, kind, target, optional)));
    for (path, kind, (tkind, tns, name), optional) in refs {
        let exempt = match kind {
            RefKind::ServiceAccount => name == "default",
            RefKind::PriorityClass => BUILTIN_PRIORITY_CLASSES.contains(&name.as_str()),
            _ => optional,
        };
        if exempt || has(&tkind, &tns, &name) {
            continue;
        }
        let what = if path.segments().iter().any(|s| matches!(s, Segment::Key(k) if k == "imagePullSecrets")) {
            format!("image pull Secret `{name}`")
        } else {
            format!("{tkind} `{name}`")
        };
        let message = if tns.is_empty() {
            format!("{what} is not rendered")
        } else {
            format!("{what} is not rendered in namespace `{tns}`")
        };
        return Err((path, message));
    }
    // Every mounted volume is declared (a pod volume or a claim template).
    let claim_templates = o.value.ptr("/spec/volumeClaimTemplates").and_then(J::as_array).map(Vec::as_slice);
    let volume_names: BTreeSet<&str> = claim_templates
        .unwrap_or(&[])
        .iter()
        .filter_map(|t| t.ptr("/metadata/name").and_then(J::as_str))
        .chain(spec.get("volumes").and_then(J::as_array).into_iter().flatten().filter_map(|v| v.get("name")?.as_str()))
        .collect();
    for list in ["initContainers", "containers"] {
        for (ci, c) in spec.get(list).and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
            for (mi, m) in
                c.get("volumeMounts").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate()
            {
                let name = m.get("name").and_then(J::as_str).unwrap_or("");
                if !volume_names.contains(name) {
                    return Err((
                        base.key(list).index(ci).key("volumeMounts").index(mi),
                        format!("volume `{name}` is mounted but not declared in the pod"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// What a [`Reference`] is: the role of the field that makes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RefKind {
    /// An Ingress backend names a Service.
    Backend,
    /// A Service or PodDisruptionBudget selects the pods of a workload.
    Selects,
    /// A StatefulSet's `serviceName` (its headless Service).
    ServiceName,
    /// A HorizontalPodAutoscaler's `scaleTargetRef`.
    ScaleTarget,
    /// A pod uses a ConfigMap (volume, projected volume, env, envFrom).
    ConfigMap,
    /// A pod uses a Secret (volume, projected volume, env, envFrom, image pull secret).
    Secret,
    /// A pod mounts a PersistentVolumeClaim.
    Claim,
    /// A pod runs as a ServiceAccount.
    ServiceAccount,
    /// A pod's PriorityClass.
    PriorityClass,
    /// A RoleBinding's or ClusterRoleBinding's `roleRef`.
    Role,
    /// A ServiceAccount among a binding's `subjects`.
    Subject,
    /// A workload talks to a Service by its DNS name (`NAME.NAMESPACE.svc`) in its env,
    /// arguments or a ConfigMap it uses: the wiring components publish to each other
    /// (fluentd's Elasticsearch, Grafana's Prometheus).
    Address,
    /// A Prometheus (a workload whose ConfigMap holds `kubernetes_sd_configs`) scrapes a
    /// target annotated `prometheus.io/scrape` or `prometheus.io/probe`.
    Scrape,
    /// A Prometheus sends alerts to the Alertmanagers behind a Service, found through the
    /// API (`alerting.alertmanagers` with `kubernetes_sd_configs` keeping one Service name).
    Alerts,
    /// An Ingress authenticates its requests at another Ingress's host (NGINX's
    /// `auth-url` annotation pointing at oauth2-proxy's public host).
    Auth,
}

impl RefKind {
    /// A short label for graphs (`backend`, `selects`, `mounts`, ...).
    pub fn label(self) -> &'static str {
        match self {
            RefKind::Backend => "backend",
            RefKind::Selects => "selects",
            RefKind::ServiceName => "serviceName",
            RefKind::ScaleTarget => "scales",
            RefKind::ConfigMap | RefKind::Secret => "uses",
            RefKind::Claim => "mounts",
            RefKind::ServiceAccount => "runs as",
            RefKind::PriorityClass => "priority",
            RefKind::Role => "grants",
            RefKind::Subject => "to",
            RefKind::Address => "talks to",
            RefKind::Scrape => "scrapes",
            RefKind::Auth => "authenticates at",
            RefKind::Alerts => "alerts",
        }
    }
}

/// One reference from an object of a render to another object, rendered or not.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    /// The index of the referring object in the slice given to [`extract_references`].
    pub from: usize,
    /// The field of the referring object that makes the reference.
    pub path: KeyPath,
    /// What the reference is.
    pub kind: RefKind,
    /// The object referred to: `(kind, namespace, name)`, namespace empty when
    /// cluster-scoped. Selector references ([`RefKind::Selects`]) name each workload whose
    /// pod template matches, so they only ever name rendered objects.
    pub target: ExternalRef,
    /// The reference is marked `optional: true` (the pod starts without the target).
    pub optional: bool,
}

/// Every reference among `objects` (JSON values of a render), in object order, then field
/// order. The one place that knows which field refers to what: the graph draws these, and
/// checks can look targets up in them.
pub fn extract_references(objects: &[&J]) -> Vec<Reference> {
    let s = |v: &J, p: &str| v.ptr(p).and_then(J::as_str).unwrap_or("").to_string();
    let kind_of = |v: &J| s(v, "/kind");
    let ns_of = |v: &J| s(v, "/metadata/namespace");
    let name_of = |v: &J| s(v, "/metadata/name");
    let target = |kind: &str, ns: &str, name: &str| (kind.to_string(), ns.to_string(), name.to_string());
    let selects = |sel: &Labels, ns: &str| -> Vec<usize> {
        objects
            .iter()
            .enumerate()
            .filter(|(_, w)| ns_of(w) == ns)
            .filter(|(_, w)| {
                let labels = pod_template(w).and_then(|t| t.ptr("/metadata/labels")).and_then(J::as_object);
                labels.is_some_and(|l| sel.iter().all(|(k, v)| l.get(k) == Some(v)))
            })
            .map(|(i, _)| i)
            .collect()
    };
    let mut out = Vec::new();
    for (i, v) in objects.iter().enumerate() {
        let ns = ns_of(v);
        let mut push = |path: KeyPath, kind: RefKind, t: ExternalRef, optional: bool| {
            out.push(Reference { from: i, path, kind, target: t, optional });
        };
        let root = KeyPath::root();
        match kind_of(v).as_str() {
            "Service" => {
                if let Some(sel) = v.ptr("/spec/selector").and_then(J::as_object).filter(|s| !s.is_empty()) {
                    for w in selects(sel, &ns) {
                        let t = target(&kind_of(objects[w]), &ns, &name_of(objects[w]));
                        push(root.key("spec").key("selector"), RefKind::Selects, t, false);
                    }
                }
            }
            "PodDisruptionBudget" => {
                if let Some(sel) = v.ptr("/spec/selector/matchLabels").and_then(J::as_object) {
                    for w in selects(sel, &ns) {
                        let t = target(&kind_of(objects[w]), &ns, &name_of(objects[w]));
                        push(root.key("spec").key("selector"), RefKind::Selects, t, false);
                    }
                }
            }
            "StatefulSet" => {
                if let Some(svc) = v.ptr("/spec/serviceName").and_then(J::as_str) {
                    push(root.key("spec").key("serviceName"), RefKind::ServiceName, target("Service", &ns, svc), false);
                }
            }
            "HorizontalPodAutoscaler" => {
                let t = target(&s(v, "/spec/scaleTargetRef/kind"), &ns, &s(v, "/spec/scaleTargetRef/name"));
                push(root.key("spec").key("scaleTargetRef"), RefKind::ScaleTarget, t, false);
            }
            "Ingress" => {
                let rules = v.ptr("/spec/rules").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]);
                for (ri, r) in rules.iter().enumerate() {
                    let paths = r.ptr("/http/paths").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]);
                    for (pi, p) in paths.iter().enumerate() {
                        if let Some(name) = p.ptr("/backend/service/name").and_then(J::as_str) {
                            let at = root.key("spec").key("rules").index(ri).key("http").key("paths").index(pi);
                            push(at, RefKind::Backend, target("Service", &ns, name), false);
                        }
                    }
                }
                if let Some(name) = v.ptr("/spec/defaultBackend/service/name").and_then(J::as_str) {
                    push(root.key("spec").key("defaultBackend"), RefKind::Backend, target("Service", &ns, name), false);
                }
                if let Some(host) = v.ptr(NGINX_AUTH_URL_POINTER).and_then(J::as_str).and_then(url_host) {
                    let at = root.key("metadata").key("annotations").key(NGINX_AUTH_URL);
                    for (j, o) in objects.iter().enumerate() {
                        if j != i && kind_of(o) == "Ingress" && ingress_hosts(o).any(|h| h == host) {
                            push(at.clone(), RefKind::Auth, target("Ingress", &ns_of(o), &name_of(o)), false);
                        }
                    }
                }
            }
            "RoleBinding" | "ClusterRoleBinding" => {
                let kind = s(v, "/roleRef/kind");
                let role_ns = if kind == "Role" { ns.clone() } else { String::new() };
                push(root.key("roleRef"), RefKind::Role, target(&kind, &role_ns, &s(v, "/roleRef/name")), false);
                let subjects = v.get("subjects").and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]);
                for (si, sub) in subjects.iter().enumerate() {
                    if sub.get("kind").and_then(J::as_str) == Some("ServiceAccount") {
                        let sns = sub.get("namespace").and_then(J::as_str).unwrap_or(&ns).to_string();
                        let t = target("ServiceAccount", &sns, &s(sub, "/name"));
                        push(root.key("subjects").index(si), RefKind::Subject, t, false);
                    }
                }
            }
            _ => {}
        }
        if let Some(spec) = pod_template(v).and_then(|t| t.get("spec")) {
            pod_references(spec, &pod_spec_path(v), &ns, &mut |path, kind, t, optional| {
                out.push(Reference { from: i, path, kind, target: t, optional })
            });
        }
    }
    wiring_references(objects, &mut out);
    out
}

/// NGINX's external-authentication annotation, and its JSON pointer (`/` escaped).
const NGINX_AUTH_URL: &str = "nginx.ingress.kubernetes.io/auth-url";
const NGINX_AUTH_URL_POINTER: &str = "/metadata/annotations/nginx.ingress.kubernetes.io~1auth-url";

/// The host of an `http(s)://HOST[:PORT]/...` URL.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next()?;
    (!host.is_empty()).then_some(host)
}

/// The hosts an Ingress's rules serve.
fn ingress_hosts(ingress: &J) -> impl Iterator<Item = &str> {
    ingress.ptr("/spec/rules").and_then(J::as_array).into_iter().flatten().filter_map(|r| r.get("host")?.as_str())
}

/// The references of a pod spec at `base` in namespace `ns`.
fn pod_references(spec: &J, base: &KeyPath, ns: &str, push: &mut dyn FnMut(KeyPath, RefKind, ExternalRef, bool)) {
    let t = |kind: &str, name: &str| (kind.to_string(), ns.to_string(), name.to_string());
    let optional = |v: &J| v.get("optional").and_then(J::as_bool) == Some(true);
    let name = |v: &J, k: &str| v.get(k).and_then(J::as_str).unwrap_or("").to_string();
    if let Some(sa) = spec.get("serviceAccountName").and_then(J::as_str) {
        push(base.key("serviceAccountName"), RefKind::ServiceAccount, t("ServiceAccount", sa), false);
    }
    if let Some(pc) = spec.get("priorityClassName").and_then(J::as_str) {
        push(
            base.key("priorityClassName"),
            RefKind::PriorityClass,
            ("PriorityClass".into(), String::new(), pc.into()),
            false,
        );
    }
    let list = |v: &J, k: &str| v.get(k).and_then(J::as_array).cloned().unwrap_or_default();
    for (i, s) in list(spec, "imagePullSecrets").iter().enumerate() {
        push(base.key("imagePullSecrets").index(i), RefKind::Secret, t("Secret", &name(s, "name")), false);
    }
    for (i, vol) in list(spec, "volumes").iter().enumerate() {
        let at = base.key("volumes").index(i);
        if let Some(cm) = vol.get("configMap") {
            push(at.clone(), RefKind::ConfigMap, t("ConfigMap", &name(cm, "name")), optional(cm));
        }
        if let Some(s) = vol.get("secret") {
            push(at.clone(), RefKind::Secret, t("Secret", &name(s, "secretName")), optional(s));
        }
        if let Some(c) = vol.get("persistentVolumeClaim") {
            push(at.clone(), RefKind::Claim, t("PersistentVolumeClaim", &name(c, "claimName")), false);
        }
        for (si, src) in
            vol.ptr("/projected/sources").and_then(J::as_array).cloned().unwrap_or_default().iter().enumerate()
        {
            let sat = at.key("projected").key("sources").index(si);
            if let Some(cm) = src.get("configMap") {
                push(sat.clone(), RefKind::ConfigMap, t("ConfigMap", &name(cm, "name")), optional(cm));
            }
            if let Some(s) = src.get("secret") {
                push(sat, RefKind::Secret, t("Secret", &name(s, "name")), optional(s));
            }
        }
    }
    for field in ["initContainers", "containers"] {
        for (ci, c) in list(spec, field).iter().enumerate() {
            let cpath = base.key(field).index(ci);
            for (ei, e) in list(c, "env").iter().enumerate() {
                for (f, kind, rk) in
                    [("configMapKeyRef", "ConfigMap", RefKind::ConfigMap), ("secretKeyRef", "Secret", RefKind::Secret)]
                {
                    if let Some(r) = e.ptr(&format!("/valueFrom/{f}")) {
                        push(cpath.key("env").index(ei), rk, t(kind, &name(r, "name")), optional(r));
                    }
                }
            }
            for (ei, e) in list(c, "envFrom").iter().enumerate() {
                for (f, kind, rk) in
                    [("configMapRef", "ConfigMap", RefKind::ConfigMap), ("secretRef", "Secret", RefKind::Secret)]
                {
                    if let Some(r) = e.get(f) {
                        push(cpath.key("envFrom").index(ei), rk, t(kind, &name(r, "name")), optional(r));
                    }
                }
            }
        }
    }
}

/// [`RefKind::Address`] and [`RefKind::Scrape`] references: the wiring between workloads
/// that no typed field names, found in the text of their env, arguments and ConfigMaps.
fn wiring_references(objects: &[&J], out: &mut Vec<Reference>) {
    let s = |v: &J, p: &str| v.ptr(p).and_then(J::as_str).unwrap_or("").to_string();
    // The ConfigMaps each workload uses, with the field that uses them.
    let uses: Vec<(usize, KeyPath, String, String)> = out
        .iter()
        .filter(|r| r.kind == RefKind::ConfigMap)
        .map(|r| (r.from, r.path.clone(), r.target.1.clone(), r.target.2.clone()))
        .collect();
    let config_text = |ns: &str, name: &str| -> Vec<&str> {
        objects
            .iter()
            .find(|o| {
                s(o, "/kind") == "ConfigMap" && s(o, "/metadata/namespace") == ns && s(o, "/metadata/name") == name
            })
            .and_then(|o| o.get("data"))
            .and_then(J::as_object)
            .map(|d| d.values().filter_map(J::as_str).collect())
            .unwrap_or_default()
    };
    // Services by DNS name, and what each selects.
    let services: Vec<(usize, String)> = objects
        .iter()
        .enumerate()
        .filter(|(_, o)| s(o, "/kind") == "Service")
        .map(|(i, o)| (i, format!("{}.{}.svc", s(o, "/metadata/name"), s(o, "/metadata/namespace"))))
        .collect();
    let selected: BTreeSet<(usize, String, String)> = out
        .iter()
        .filter(|r| r.kind == RefKind::Selects && s(objects[r.from], "/kind") == "Service")
        .map(|r| (r.from, r.target.0.clone(), r.target.2.clone()))
        .collect();
    let mut found = Vec::new();
    for (i, v) in objects.iter().enumerate() {
        let Some(spec) = pod_template(v).and_then(|t| t.get("spec")) else { continue };
        let (kind, name) = (s(v, "/kind"), s(v, "/metadata/name"));
        let base = pod_spec_path(v);
        // (text, the field it was found in)
        let mut texts: Vec<(String, KeyPath)> = Vec::new();
        for field in ["initContainers", "containers"] {
            for (ci, c) in spec.get(field).and_then(J::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
                let at = base.key(field).index(ci);
                let mut strings = Vec::new();
                collect_strings(c.get("env").unwrap_or(&J::Null), &mut strings);
                collect_strings(c.get("args").unwrap_or(&J::Null), &mut strings);
                collect_strings(c.get("command").unwrap_or(&J::Null), &mut strings);
                texts.extend(strings.into_iter().map(|t| (t, at.clone())));
            }
        }
        let mut scrapes = None;
        let own_ns = s(v, "/metadata/namespace");
        for (from, path, cns, cname) in &uses {
            if *from == i {
                for t in config_text(cns, cname) {
                    if t.contains("kubernetes_sd_configs") && t.contains("prometheus_io_scrape") {
                        scrapes.get_or_insert_with(|| path.clone());
                    }
                    for (ans, aname) in alertmanager_services(t, &own_ns) {
                        let rendered = services.iter().any(|(j, _)| {
                            s(objects[*j], "/metadata/namespace") == ans && s(objects[*j], "/metadata/name") == aname
                        });
                        if rendered {
                            found.push(Reference {
                                from: i,
                                path: path.clone(),
                                kind: RefKind::Alerts,
                                target: ("Service".to_string(), ans, aname),
                                optional: false,
                            });
                        }
                    }
                    texts.push((t.to_string(), path.clone()));
                }
            }
        }
        for (svc, host) in &services {
            // A workload's own Service (Elasticsearch's discovery) is not wiring.
            if selected.contains(&(*svc, kind.clone(), name.clone())) {
                continue;
            }
            let (svc_ns, svc_name) = (s(objects[*svc], "/metadata/namespace"), s(objects[*svc], "/metadata/name"));
            let short = svc_ns == s(v, "/metadata/namespace");
            let found_in = texts.iter().find(|(t, _)| mentions_host(t, host) || (short && names_service(t, &svc_name)));
            if let Some((_, path)) = found_in {
                let t = (
                    "Service".to_string(),
                    s(objects[*svc], "/metadata/namespace"),
                    s(objects[*svc], "/metadata/name"),
                );
                found.push(Reference {
                    from: i,
                    path: path.clone(),
                    kind: RefKind::Address,
                    target: t,
                    optional: false,
                });
            }
        }
        if let Some(path) = scrapes {
            for (j, o) in objects.iter().enumerate() {
                let annotated = |p: &str| {
                    let a = |k: &str| o.ptr(p).and_then(|m| m.get(k)).and_then(J::as_str) == Some("true");
                    a("prometheus.io/scrape") || a("prometheus.io/probe")
                };
                let target_kind = s(o, "/kind");
                let yes = match target_kind.as_str() {
                    "Service" | "Ingress" => annotated("/metadata/annotations"),
                    _ => pod_template(o).is_some() && annotated("/spec/template/metadata/annotations"),
                };
                if yes && j != i {
                    let t = (target_kind, s(o, "/metadata/namespace"), s(o, "/metadata/name"));
                    found.push(Reference {
                        from: i,
                        path: path.clone(),
                        kind: RefKind::Scrape,
                        target: t,
                        optional: false,
                    });
                }
            }
        }
    }
    out.extend(found);
    out.sort_by_key(|r| r.from);
}

/// The Alertmanager Services a Prometheus configuration (`prometheus.yml` text) sends
/// alerts to by Kubernetes discovery: each `alerting.alertmanagers` entry with
/// `kubernetes_sd_configs` and a `keep` relabelling on `__meta_kubernetes_service_name`,
/// as `(namespace, service)` for each namespace it discovers in (`own_ns` when it names
/// none). Text that is not such a configuration gives nothing.
fn alertmanager_services(text: &str, own_ns: &str) -> Vec<(String, String)> {
    use yaml_rust2::{Yaml, YamlLoader};
    if !text.contains("alertmanagers") {
        return Vec::new();
    }
    let Ok(docs) = YamlLoader::load_from_str(text) else { return Vec::new() };
    let list = |y: &Yaml| y.as_vec().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for doc in &docs {
        for am in list(&doc["alerting"]["alertmanagers"]) {
            let sd = list(&am["kubernetes_sd_configs"]);
            if sd.is_empty() {
                continue;
            }
            let service = list(&am["relabel_configs"]).into_iter().find_map(|r| {
                // Relabelling's default action is `replace`: only an explicit keep selects.
                let keep = r["action"].as_str().is_some_and(|a| a.eq_ignore_ascii_case("keep"));
                let by_service = r["source_labels"].as_vec()?.first()?.as_str()? == "__meta_kubernetes_service_name";
                let name = r["regex"].as_str()?.split(';').next()?.to_string();
                (keep && by_service && crate::names::is_dns_label(&name)).then_some(name)
            });
            let Some(service) = service else { continue };
            let mut namespaces: Vec<String> = sd
                .iter()
                .flat_map(|c| list(&c["namespaces"]["names"]))
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect();
            if namespaces.is_empty() {
                namespaces.push(own_ns.to_string());
            }
            out.extend(namespaces.into_iter().map(|ns| (ns, service.clone())));
        }
    }
    out
}

/// Every string inside `v`.
fn collect_strings(v: &J, out: &mut Vec<String>) {
    match v {
        J::String(s) => out.push(s.clone()),
        J::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        J::Object(m) => m.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// `text` names `host` (`es.kubeprod.svc`) as a whole DNS name, or a pod under it
/// (`es-0.es.kubeprod.svc`), not as the tail of another name (`my-es.kubeprod.svc`).
fn mentions_host(text: &str, host: &str) -> bool {
    let label = |c: char| c.is_ascii_alphanumeric() || c == '-';
    text.match_indices(host).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + host.len()..].chars().next();
        !before.is_some_and(label) && !after.is_some_and(label)
    })
}

/// A whole value that names a Service of the same namespace by its short name: `NAME`,
/// `NAME:PORT`, or a URL whose host is `NAME` (`http://NAME`, `https://NAME:443/api`), as
/// sdc-kubernetes' config map does (`cassandra.endpoint: sdc-cassandra`).
fn names_service(value: &str, name: &str) -> bool {
    let v = value.trim();
    let v = v.split_once("://").map_or(v, |(_, rest)| rest);
    let host_port = v.split('/').next().unwrap_or("");
    match host_port.split_once(':') {
        Some((host, port)) => host == name && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()),
        None => host_port == name && (v.len() == name.len() || value.contains("://")),
    }
}

#[cfg(test)]
mod extract_tests {
    use super::*;
    use serde_json::json;

    fn refs(objects: &[J]) -> Vec<String> {
        let v: Vec<&J> = objects.iter().collect();
        extract_references(&v)
            .iter()
            .map(|r| {
                let opt = if r.optional { " (optional)" } else { "" };
                format!("{} {:?} {}/{}/{}{opt} at {}", r.from, r.kind, r.target.0, r.target.1, r.target.2, r.path)
            })
            .collect()
    }

    #[test]
    fn a_prometheus_config_names_the_alertmanager_service_it_discovers() {
        let config = "alerting:\n  alertmanagers:\n  - kubernetes_sd_configs:\n    - role: endpointslice\n      namespaces:\n        names: [mon]\n    relabel_configs:\n    - action: keep\n      regex: alertmanager;web\n      source_labels: [__meta_kubernetes_service_name, __meta_kubernetes_endpointslice_port_name]\n";
        assert_eq!(alertmanager_services(config, "ns"), vec![("mon".to_string(), "alertmanager".to_string())]);
        let own_ns = config.replace("      namespaces:\n        names: [mon]\n", "");
        assert_eq!(alertmanager_services(&own_ns, "ns"), vec![("ns".to_string(), "alertmanager".to_string())]);
        let replace = config.replace("action: keep", "action: replace");
        assert!(alertmanager_services(&replace, "ns").is_empty(), "only a keep selects");
        assert!(alertmanager_services("alertmanagers: [", "ns").is_empty(), "not YAML: nothing");
        assert!(alertmanager_services("scrape_configs: []", "ns").is_empty());
    }

    #[test]
    fn pod_references_cover_volumes_env_and_pull_secrets() {
        let d = json!({"kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"}, "spec": {"template": {"spec": {
            "serviceAccountName": "sa",
            "imagePullSecrets": [{"name": "pull"}],
            "volumes": [
                {"name": "a", "configMap": {"name": "cm", "optional": true}},
                {"name": "b", "projected": {"sources": [{"secret": {"name": "s"}}]}},
                {"name": "c", "persistentVolumeClaim": {"claimName": "data"}}],
            "containers": [{"name": "x",
                "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "pw", "key": "k"}}}],
                "envFrom": [{"configMapRef": {"name": "env"}}]}]}}}});
        assert_eq!(
            refs(&[d]),
            [
                "0 ServiceAccount ServiceAccount/ns/sa at spec.template.spec.serviceAccountName",
                "0 Secret Secret/ns/pull at spec.template.spec.imagePullSecrets[0]",
                "0 ConfigMap ConfigMap/ns/cm (optional) at spec.template.spec.volumes[0]",
                "0 Secret Secret/ns/s at spec.template.spec.volumes[1].projected.sources[0]",
                "0 Claim PersistentVolumeClaim/ns/data at spec.template.spec.volumes[2]",
                "0 Secret Secret/ns/pw at spec.template.spec.containers[0].env[0]",
                "0 ConfigMap ConfigMap/ns/env at spec.template.spec.containers[0].envFrom[0]",
            ]
        );
    }

    #[test]
    fn wiring_is_found_by_dns_name_but_not_to_a_workloads_own_service() {
        let sts = json!({"kind": "StatefulSet", "metadata": {"name": "es", "namespace": "ns"}, "spec": {"template": {
            "metadata": {"labels": {"app": "es"}},
            "spec": {"containers": [{"name": "es", "args": ["--seed=es.ns.svc"]}]}}}});
        let svc = json!({"kind": "Service", "metadata": {"name": "es", "namespace": "ns"}, "spec": {"selector": {"app": "es"}}});
        let client = json!({"kind": "Deployment", "metadata": {"name": "ui", "namespace": "ns"}, "spec": {"template": {
            "metadata": {"annotations": {"prometheus.io/scrape": "true"}},
            "spec": {"containers": [{"name": "ui", "env": [
                {"name": "A", "value": "http://es.ns.svc:9200"},
                {"name": "B", "value": "http://not-es.ns.svc:9200"}]}]}}}});
        let prom_cm = json!({"kind": "ConfigMap", "metadata": {"name": "prom", "namespace": "ns"},
            "data": {"prometheus.yml": "kubernetes_sd_configs: ... __meta_kubernetes_pod_annotation_prometheus_io_scrape"}});
        let prom = json!({"kind": "StatefulSet", "metadata": {"name": "prom", "namespace": "ns"}, "spec": {"template": {
            "spec": {"containers": [{"name": "p"}], "volumes": [{"name": "c", "configMap": {"name": "prom"}}]}}}});
        let got = refs(&[sts, svc, client, prom_cm, prom]);
        assert_eq!(
            got,
            [
                "1 Selects StatefulSet/ns/es at spec.selector",
                "2 Address Service/ns/es at spec.template.spec.containers[0]",
                "4 ConfigMap ConfigMap/ns/prom at spec.template.spec.volumes[0]",
                "4 Scrape Deployment/ns/ui at spec.template.spec.volumes[0]",
            ]
        );
    }

    #[test]
    fn host_mentions_are_whole_names() {
        assert!(mentions_host("http://es.ns.svc:9200", "es.ns.svc"));
        assert!(mentions_host("host es.ns.svc.cluster.local", "es.ns.svc"));
        assert!(!mentions_host("http://my-es.ns.svc:9200", "es.ns.svc"));
        assert!(!mentions_host("es.ns.svcx", "es.ns.svc"));
        assert!(mentions_host("MASTER=db-0.db.ns.svc", "db.ns.svc"), "a pod of a headless Service");
    }

    #[test]
    fn short_service_names_count_only_as_whole_values() {
        for v in [
            "sdc-cassandra",
            " sdc-cassandra\n",
            "sdc-cassandra:9042",
            "http://sdc-cassandra",
            "https://sdc-cassandra:443/api/",
        ] {
            assert!(names_service(v, "sdc-cassandra"), "{v}");
        }
        for v in [
            "sdc-cassandra-0",
            "cluster.name: sdc-cassandra",
            "sdc-cassandra/x",
            "sdc-cassandra:x",
            "http://sdc-cassandra-2",
        ] {
            assert!(!names_service(v, "sdc-cassandra"), "{v}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("https://auth.example.com/oauth2/auth"), Some("auth.example.com"));
        assert_eq!(url_host("http://u:p@auth.example.com:8443?x=1"), Some("auth.example.com"));
        assert_eq!(url_host("auth.example.com/oauth2"), None);
        assert_eq!(url_host("https:///path"), None);
    }

    #[test]
    fn an_nginx_auth_url_refers_to_the_ingress_serving_its_host() {
        let ingress = |name: &str, host: &str, auth: Option<&str>| {
            let mut v = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": name, "namespace": "kubeprod"},
                "spec": {"rules": [{"host": host}]}});
            if let Some(a) = auth {
                v["metadata"]["annotations"] = json!({NGINX_AUTH_URL: a});
            }
            v
        };
        let objects = [
            ingress("grafana", "grafana.example.com", Some("https://auth.example.com/oauth2/auth")),
            ingress("oauth2-ingress", "auth.example.com", None),
            ingress("kibana", "kibana.example.com", Some("https://elsewhere.example.org/auth")),
        ];
        let refs = extract_references(&objects.iter().collect::<Vec<_>>());
        let auth: Vec<&Reference> = refs.iter().filter(|r| r.kind == RefKind::Auth).collect();
        assert_eq!(auth.len(), 1, "{auth:?}");
        assert_eq!(auth[0].from, 0);
        assert_eq!(auth[0].target, ("Ingress".into(), "kubeprod".into(), "oauth2-ingress".into()));
        assert_eq!(auth[0].path.to_string(), "metadata.annotations.nginx\\.ingress\\.kubernetes\\.io/auth-url");
    }

    fn obj(component: &str, key: &str, v: J) -> Object {
        Object::custom(component, key, v, "test")
    }

    fn deploy(labels: J, volumes: J) -> Object {
        obj(
            "c",
            "deploy",
            json!({"kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"},
            "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "a"}], "volumes": volumes}}}}),
        )
    }

    #[test]
    fn service_selector_must_match_a_pod_template() {
        let svc = obj(
            "c",
            "svc",
            json!({"kind": "Service", "metadata": {"name": "s", "namespace": "ns"}, "spec": {"selector": {"name": "x"}}}),
        );
        assert!(check_references(&[deploy(json!({"name": "x"}), json!([])), svc.clone()], &BTreeSet::new()).is_ok());
        let e = check_references(&[deploy(json!({"name": "y"}), json!([])), svc], &BTreeSet::new()).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.svc.spec.selector");
    }

    #[test]
    fn missing_config_map_is_found() {
        let d = deploy(json!({}), json!([{"name": "v", "configMap": {"name": "nope"}}]));
        let e = check_references(&[d], &BTreeSet::new()).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.deploy.spec.template.spec.volumes[0]");
    }

    #[test]
    fn external_objects_satisfy_references() {
        let d = deploy(json!({}), json!([{"name": "v", "secret": {"secretName": "tls"}}]));
        let ext = BTreeSet::from([("Secret".to_string(), "ns".to_string(), "tls".to_string())]);
        assert!(check_references(&[d], &ext).is_ok());
    }

    #[test]
    fn projected_volumes_and_image_pull_secrets_are_references() {
        let d = deploy(json!({}), json!([{"name": "v", "projected": {"sources": [{"configMap": {"name": "ca"}}]}}]));
        let e = check_references(&[d], &BTreeSet::new()).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.deploy.spec.template.spec.volumes[0].projected.sources[0]");
        let ext = BTreeSet::from([("ConfigMap".to_string(), "ns".to_string(), "ca".to_string())]);
        let d = deploy(json!({}), json!([{"name": "v", "projected": {"sources": [{"configMap": {"name": "ca"}}]}}]));
        assert!(check_references(&[d], &ext).is_ok());
        let mut d = deploy(json!({}), json!([]));
        d.value["spec"]["template"]["spec"]["imagePullSecrets"] = json!([{"name": "regcred"}]);
        let e = check_references(&[d], &BTreeSet::new()).unwrap_err();
        assert!(e.to_string().contains("image pull Secret `regcred`"), "{e}");
    }

    #[test]
    fn the_default_service_account_builtin_priority_classes_and_optional_refs_need_nothing() {
        let mut d = deploy(json!({}), json!([{"name": "v", "secret": {"secretName": "maybe", "optional": true}}]));
        let spec = &mut d.value["spec"]["template"]["spec"];
        spec["serviceAccountName"] = json!("default");
        spec["priorityClassName"] = json!("system-node-critical");
        assert!(check_references(&[d.clone()], &BTreeSet::new()).is_ok());
        d.value["spec"]["template"]["spec"]["priorityClassName"] = json!("batch-low");
        let e = check_references(&[d], &BTreeSet::new()).unwrap_err();
        assert!(e.to_string().contains("PriorityClass `batch-low` is not rendered"), "{e}");
        assert!(!e.to_string().contains("namespace"), "a PriorityClass has none: {e}");
    }

    #[test]
    fn pdb_selector_expressions_must_select_a_pod_template() {
        let pdb = |op: &str| {
            obj(
                "c",
                "pdb",
                json!({"kind": "PodDisruptionBudget", "metadata": {"name": "p", "namespace": "ns"},
                "spec": {"selector": {"matchExpressions": [{"key": "name", "operator": op, "values": ["x"]}]}}}),
            )
        };
        assert!(check_references(&[deploy(json!({"name": "x"}), json!([])), pdb("In")], &BTreeSet::new()).is_ok());
        assert!(check_references(&[deploy(json!({"name": "x"}), json!([])), pdb("NotIn")], &BTreeSet::new()).is_err());
    }

    #[test]
    fn hpa_target_must_have_the_named_api_version_and_select_its_pods() {
        let hpa = |api: &str| {
            obj(
                "c",
                "hpa",
                json!({"kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "ns"},
                "spec": {"scaleTargetRef": {"apiVersion": api, "kind": "Deployment", "name": "d"}}}),
            )
        };
        let mut d = deploy(json!({"name": "x"}), json!([]));
        d.value["apiVersion"] = json!("apps/v1");
        d.value["spec"]["selector"] = json!({"matchLabels": {"name": "x"}});
        assert!(check_references(&[d.clone(), hpa("apps/v1")], &BTreeSet::new()).is_ok());
        assert!(check_references(&[d.clone(), hpa("extensions/v1beta1")], &BTreeSet::new()).is_err());
        d.value["spec"]["selector"] = json!({"matchLabels": {"name": "y"}});
        let e = check_references(&[d, hpa("apps/v1")], &BTreeSet::new()).unwrap_err();
        assert!(e.to_string().contains("misses its own pods"), "{e}");
    }

    #[test]
    fn statefulset_service_must_be_headless() {
        let sts = obj(
            "c",
            "sts",
            json!({"kind": "StatefulSet", "metadata": {"name": "s", "namespace": "ns"}, "spec": {"serviceName": "h"}}),
        );
        let svc = obj(
            "c",
            "svc",
            json!({"kind": "Service", "metadata": {"name": "h", "namespace": "ns"}, "spec": {"clusterIP": "10.0.0.1"}}),
        );
        assert!(check_references(&[sts, svc], &BTreeSet::new()).is_err());
    }
}
