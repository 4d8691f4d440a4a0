//! The custom metrics API for Sysdig: an aggregated API server (`custom.metrics.k8s.io`)
//! that answers with Sysdig metrics, so HorizontalPodAutoscalers scale on them (see
//! [`crate::hpas`]). Namespace `custom-metrics`, names as the adapter's own manifests.
//!
//! # What it renders
//!
//! The ServiceAccount `custom-metrics-apiserver`; its bindings to `system:auth-delegator`
//! (delegated authentication and authorization) and, in `kube-system`, to the Role
//! `extension-apiserver-authentication-reader` (the API server's client CA); the
//! ClusterRole `custom-metrics-resource-reader` (namespaces, pods, services) bound to it;
//! the ClusterRole `custom-metrics-getter` (read `custom.metrics.k8s.io`) bound to the HPA
//! controller (`kube-system/horizontal-pod-autoscaler`); the Service `api` (443); the
//! APIService `v1beta1.custom.metrics.k8s.io` (apiregistration.k8s.io/v1); the Deployment
//! `custom-metrics-apiserver` with the Sysdig API token from the Secret `sysdig-api` (key
//! `access-key`, from the secrets file's `sysdig_metrics_adapter.api-token`, or one the
//! cluster holds).
//!
//! # What changed from the seed
//!
//! - The APIService is `apiregistration.k8s.io/v1` (v1beta1 is gone since Kubernetes 1.22)
//!   and verifies the adapter's certificate with `ca_bundle`; skipping verification
//!   (`insecureSkipTLSVerify`, the seed's) must be asked for, and neither is an error.
//! - The ClusterRoleBinding `custom-metrics:system:auth-delegator` is named
//!   `custom-metrics-system-auth-delegator`: runway's name check takes DNS-1123 subdomains
//!   only (as cert-manager's bindings); delete the old one on adoption.
//! - `custom-metrics-getter` reads (get, list, watch) instead of `*` on `*`: the custom
//!   metrics API has nothing else to do.
//! - The adapter runs as nobody (uid 65534) on port 6443 behind the Service's 443, with a
//!   read-only root filesystem, all capabilities dropped and RuntimeDefault seccomp (the
//!   seed ran it as root on 443), and logs at `--v=2` instead of 10.
//! - Its Deployment names the Sysdig endpoint: the on-prem backend's `sdc-api` by default.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, PodSpec,
    PodTemplateSpec, Probe, Secret, SecretKeySelector, SecretVolumeSource, Service, ServiceAccount, ServiceSpec,
    TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::{APIService, APIServiceSpec, ServiceReference};
use k8s_openapi::ByteString;
use runway_core::refs::ExternalRef;
use runway_core::{Error, KeyPath, Object};
use sha2::{Digest, Sha256};

pub use self::params::{SysdigMetricsAdapterParams, DEFAULT_IMAGE};
use crate::common::meta;
use crate::common::pod::{container_security, pod_security};
use crate::common::rbac::{self, Grant};
use crate::common::service::tcp_port;
use crate::component::{Component, ObjectDoc};
use crate::context::Context;

/// The adapter's namespace (the seed's).
pub const NAMESPACE: &str = "custom-metrics";
/// The Deployment and ServiceAccount (the seed's).
pub const NAME: &str = "custom-metrics-apiserver";
/// The Service the APIService points at (the seed's).
pub const SERVICE: &str = "api";
/// The APIService.
pub const API_SERVICE: &str = "v1beta1.custom.metrics.k8s.io";
/// The Secret with the Sysdig API token (the seed's), and its key.
pub const TOKEN_SECRET: &str = "sysdig-api";
/// The key of the token in [`TOKEN_SECRET`].
pub const TOKEN_KEY: &str = "access-key";
/// The ConfigMap with the CA of the Sysdig API (`sysdig_api_ca`).
pub const API_CA_CONFIG_MAP: &str = "sysdig-api-ca";
/// The HPA controller's ServiceAccount, which reads the custom metrics.
pub const HPA_CONTROLLER: (&str, &str) = ("kube-system", "horizontal-pod-autoscaler");

/// Keys of the `sysdig_metrics_adapter` block of the secrets file.
pub mod secret_keys {
    /// The Sysdig Monitor API token (not the agent access key).
    pub const API_TOKEN: &str = "api-token";
    /// The adapter's PEM serving certificate (`ca_bundle` mode).
    pub const TLS_CRT: &str = "tls-crt";
    /// Its PEM private key.
    pub const TLS_KEY: &str = "tls-key";
}

const COMPONENT_LABEL: &str = "sysdig_metrics_adapter";
/// The port the adapter listens on (unprivileged; the Service maps 443 to it).
const PORT: i32 = 6443;
/// uid and gid of `nobody` in the Alpine-based image.
const NOBODY: i64 = 65534;
const CERT_DIR: &str = "/var/run/serving-cert";
const AUTH_READER_ROLE: &str = "extension-apiserver-authentication-reader";

/// The custom metrics adapter component.
pub struct SysdigMetricsAdapter;

impl Component for SysdigMetricsAdapter {
    const NAME: &'static str = "sysdig_metrics_adapter";
    const SUMMARY: &'static str =
        "Custom metrics API (custom.metrics.k8s.io) backed by Sysdig, for HorizontalPodAutoscalers";
    const DEFAULT_ENABLED: bool = false;
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc { key: "serviceAccount", kind: "ServiceAccount", doc: "`custom-metrics-apiserver`" },
        ObjectDoc {
            key: "authDelegator",
            kind: "ClusterRoleBinding",
            doc: "`system:auth-delegator`: delegated authentication and authorization",
        },
        ObjectDoc {
            key: "authReader",
            kind: "RoleBinding",
            doc: "kube-system `extension-apiserver-authentication-reader`: the client CA",
        },
        ObjectDoc { key: "resourceReader", kind: "ClusterRole", doc: "read namespaces, pods and services" },
        ObjectDoc { key: "resourceReaderBinding", kind: "ClusterRoleBinding", doc: "binds it to the adapter" },
        ObjectDoc { key: "metricsGetter", kind: "ClusterRole", doc: "read `custom.metrics.k8s.io`" },
        ObjectDoc { key: "metricsGetterBinding", kind: "ClusterRoleBinding", doc: "binds it to the HPA controller" },
        ObjectDoc { key: "svc", kind: "Service", doc: "`api`: 443 to the adapter" },
        ObjectDoc { key: "apiService", kind: "APIService", doc: "`v1beta1.custom.metrics.k8s.io`" },
        ObjectDoc { key: "secret", kind: "Secret", doc: "`sysdig-api` (with `api-token` in the secrets file)" },
        ObjectDoc { key: "tlsSecret", kind: "Secret", doc: "the serving certificate (with `tls-crt`, `tls-key`)" },
        ObjectDoc { key: "apiCa", kind: "ConfigMap", doc: "`sysdig-api-ca` (with `sysdig_api_ca`)" },
        ObjectDoc { key: "deploy", kind: "Deployment", doc: "`custom-metrics-apiserver`" },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`custom-metrics-apiserver`: from the API server (aggregated API), to the Sysdig API",
        },
    ];
    type Params = SysdigMetricsAdapterParams;

    fn externals(p: &SysdigMetricsAdapterParams, cx: &Context) -> Vec<ExternalRef> {
        let mut out = vec![
            // Every cluster has them: the Role of the API server's client CA, and the HPA
            // controller's ServiceAccount.
            ("Role".to_string(), "kube-system".to_string(), AUTH_READER_ROLE.to_string()),
            ("ServiceAccount".to_string(), HPA_CONTROLLER.0.to_string(), HPA_CONTROLLER.1.to_string()),
        ];
        if secret(cx, secret_keys::API_TOKEN).is_none() {
            out.push(("Secret".to_string(), NAMESPACE.to_string(), TOKEN_SECRET.to_string()));
        }
        if p.ca_bundle.is_some() && secret(cx, secret_keys::TLS_CRT).is_none() {
            out.push(("Secret".to_string(), NAMESPACE.to_string(), p.tls_secret.clone()));
        }
        out
    }

    fn network(p: &SysdigMetricsAdapterParams, _: &Context) -> Vec<crate::network::Flows> {
        use crate::network::{tcp, Flows};
        vec![Flows::new("deploy", "networkPolicy")
            .to_api_server()
            .to_address(&p.sysdig_api_endpoint, 443, "the Sysdig API outside this cluster")
            .from_anywhere(&[tcp(PORT)], "the API server serves the aggregated custom metrics API from here; its address is not known at render time")]
    }

    fn waivers(_: &SysdigMetricsAdapterParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![
            Waiver::new("deploy", Check::SecretsAsEnv, "the adapter reads the Sysdig API token from its environment only"),
            Waiver::new("metricsGetter", Check::RbacWildcard, "the HPA controller must read every custom metric the adapter serves: resources are named by the metrics"),
            Waiver::new("metricsGetterBinding", Check::ReadAllSecrets, "checkov reads the wildcard on custom.metrics.k8s.io as all resources; the role grants no Secrets"),
        ]
    }

    fn build(p: &SysdigMetricsAdapterParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let n = Self::NAME;
        let mut objects = vec![
            Object::new(n, "serviceAccount", &service_account()),
            Object::new(n, "authDelegator", &auth_delegator()),
            Object::new(n, "authReader", &auth_reader()),
            Object::new(n, "resourceReader", &resource_reader()),
            Object::new(n, "resourceReaderBinding", &resource_reader_binding()),
            Object::new(n, "metricsGetter", &metrics_getter()),
            Object::new(n, "metricsGetterBinding", &metrics_getter_binding()),
            Object::new(n, "svc", &service()),
            Object::new(n, "apiService", &api_service(p)),
        ];
        let mut checksum = Sha256::new();
        if let Some(token) = secret(cx, secret_keys::API_TOKEN) {
            if token.is_empty() {
                return Err(Error::invalid("secret `sysdig_metrics_adapter.api-token` is empty")
                    .with_path(secrets_path(secret_keys::API_TOKEN))
                    .help("give the Sysdig Monitor API token (Settings > User Profile), not the agent access key"));
            }
            checksum.update(token.as_bytes());
            let data = BTreeMap::from([(TOKEN_KEY.to_string(), token)]);
            objects.push(Object::new(n, "secret", &opaque(TOKEN_SECRET, "Opaque", data)));
        }
        checksum.update([0]);
        if p.ca_bundle.is_some() {
            if let Some(tls) = tls_secret(p, cx)? {
                checksum.update(format!("{:?}", tls.data).as_bytes());
                objects.push(Object::new(n, "tlsSecret", &tls));
            }
        } else if secret(cx, secret_keys::TLS_CRT).is_some() || secret(cx, secret_keys::TLS_KEY).is_some() {
            return Err(Error::invalid("the secrets file gives the adapter a certificate, but nothing verifies it")
                .with_path(KeyPath::root().key("sysdig_metrics_adapter").key("ca_bundle"))
                .help("set `ca_bundle` to the CA that signed it (and drop `insecure_skip_tls_verify`), or remove `tls-crt` and `tls-key`"));
        }
        checksum.update([0]);
        if let Some(ca) = &p.sysdig_api_ca {
            checksum.update(ca.as_bytes());
            objects.push(Object::new(n, "apiCa", &api_ca_config_map(ca)));
        }
        let sum: String = checksum.finalize().iter().map(|b| format!("{b:02x}")).collect();
        objects.push(Object::new(n, "deploy", &deployment(p, &sum)));
        Ok(objects)
    }
}

fn secret(cx: &Context, key: &str) -> Option<String> {
    cx.secrets_of("sysdig_metrics_adapter").and_then(|v| v.get(key)).map(|v| v.trim().to_string())
}

fn secrets_path(key: &str) -> KeyPath {
    KeyPath::root().key("secrets").key("sysdig_metrics_adapter").key(key)
}

fn labels(name: &str) -> BTreeMap<String, String> {
    let mut l = meta::labels(name, COMPONENT_LABEL);
    l.insert("app".into(), NAME.into());
    l
}

/// The seed's pod selector (`app: custom-metrics-apiserver`), immutable on its Deployment.
fn selector_labels() -> BTreeMap<String, String> {
    BTreeMap::from([("app".to_string(), NAME.to_string())])
}

/// The adapter's ServiceAccount granted the role `role`.
fn adapter_grant(role: &str) -> Grant<'_> {
    Grant { role, service_account: NAME, namespace: NAMESPACE }
}

/// The adapter talks to the API server (delegated auth, listing described objects), so
/// its token is mounted.
fn service_account() -> ServiceAccount {
    rbac::service_account(meta::namespaced(NAME, NAMESPACE, labels(NAME)), None)
}

fn auth_delegator() -> ClusterRoleBinding {
    adapter_grant("system:auth-delegator")
        .cluster_role_binding(meta::cluster_scoped("custom-metrics-system-auth-delegator", labels(NAME)))
}

fn auth_reader() -> RoleBinding {
    adapter_grant(AUTH_READER_ROLE).role_binding(meta::namespaced(
        "custom-metrics-auth-reader",
        "kube-system",
        labels(NAME),
    ))
}

fn resource_reader() -> ClusterRole {
    rbac::cluster_role(
        meta::cluster_scoped("custom-metrics-resource-reader", labels(NAME)),
        vec![rbac::rule(&[""], &["namespaces", "pods", "services"], &["get", "list"])],
    )
}

fn resource_reader_binding() -> ClusterRoleBinding {
    adapter_grant("custom-metrics-resource-reader")
        .cluster_role_binding(meta::cluster_scoped("custom-metrics-apiserver-resource-reader", labels(NAME)))
}

fn metrics_getter() -> ClusterRole {
    rbac::cluster_role(
        meta::cluster_scoped("custom-metrics-getter", labels(NAME)),
        vec![rbac::rule(&["custom.metrics.k8s.io"], &["*"], rbac::READ)],
    )
}

fn metrics_getter_binding() -> ClusterRoleBinding {
    let (namespace, service_account) = HPA_CONTROLLER;
    Grant { role: "custom-metrics-getter", service_account, namespace }
        .cluster_role_binding(meta::cluster_scoped("hpa-custom-metrics-getter", labels(NAME)))
}

fn service() -> Service {
    Service {
        metadata: meta::namespaced(SERVICE, NAMESPACE, labels(NAME)),
        spec: Some(ServiceSpec {
            selector: Some(selector_labels()),
            ports: Some(vec![tcp_port("https", 443, "https")]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn api_service(p: &SysdigMetricsAdapterParams) -> APIService {
    APIService {
        metadata: meta::cluster_scoped(API_SERVICE, labels(NAME)),
        spec: Some(APIServiceSpec {
            group: Some("custom.metrics.k8s.io".into()),
            version: Some("v1beta1".into()),
            group_priority_minimum: 1000,
            version_priority: 5,
            service: Some(ServiceReference {
                name: Some(SERVICE.into()),
                namespace: Some(NAMESPACE.into()),
                port: Some(443),
            }),
            ca_bundle: p.ca_bundle.as_ref().map(|pem| ByteString(format!("{}\n", pem.trim()).into_bytes())),
            insecure_skip_tls_verify: p.insecure_skip_tls_verify.then_some(true),
        }),
        ..Default::default()
    }
}

fn opaque(name: &str, type_: &str, data: BTreeMap<String, String>) -> Secret {
    Secret {
        metadata: meta::namespaced(name, NAMESPACE, labels(NAME)),
        type_: Some(type_.into()),
        data: Some(data.into_iter().map(|(k, v)| (k, ByteString(v.into_bytes()))).collect()),
        ..Default::default()
    }
}

/// The serving certificate's Secret from the secrets file, if given (both halves, PEM).
fn tls_secret(p: &SysdigMetricsAdapterParams, cx: &Context) -> Result<Option<Secret>, Error> {
    let (crt, key) = match (secret(cx, secret_keys::TLS_CRT), secret(cx, secret_keys::TLS_KEY)) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        (c, _) => {
            let missing = if c.is_none() { secret_keys::TLS_CRT } else { secret_keys::TLS_KEY };
            return Err(Error::invalid(format!(
                "the secrets file gives half of the serving certificate: `{missing}` is missing"
            ))
            .with_path(secrets_path(missing))
            .help(format!(
                "give both `{}` and `{}`, or neither to use the Secret `{}`",
                secret_keys::TLS_CRT,
                secret_keys::TLS_KEY,
                p.tls_secret
            )));
        }
    };
    if !params::is_pem_certificate(&crt) {
        return Err(Error::invalid("`tls-crt` is not a PEM certificate")
            .with_path(secrets_path(secret_keys::TLS_CRT))
            .help("paste the certificate's PEM text, for the name `api.custom-metrics.svc`"));
    }
    if !(key.starts_with("-----BEGIN ") && key.contains("PRIVATE KEY-----")) {
        return Err(Error::invalid("`tls-key` is not a PEM private key")
            .with_path(secrets_path(secret_keys::TLS_KEY))
            .help("paste the key's PEM text, from `-----BEGIN PRIVATE KEY-----`"));
    }
    let data =
        BTreeMap::from([("tls.crt".to_string(), format!("{crt}\n")), ("tls.key".to_string(), format!("{key}\n"))]);
    Ok(Some(opaque(&p.tls_secret, "kubernetes.io/tls", data)))
}

fn api_ca_config_map(pem: &str) -> ConfigMap {
    ConfigMap {
        metadata: meta::namespaced(API_CA_CONFIG_MAP, NAMESPACE, labels(NAME)),
        data: Some(BTreeMap::from([("ca.crt".to_string(), format!("{}\n", pem.trim()))])),
        ..Default::default()
    }
}

fn deployment(p: &SysdigMetricsAdapterParams, checksum: &str) -> Deployment {
    let mut args =
        vec![format!("--secure-port={PORT}"), "--logtostderr=true".to_string(), format!("--v={}", p.log_level)];
    let serving_volume = if p.ca_bundle.is_some() {
        args.push(format!("--tls-cert-file={CERT_DIR}/tls.crt"));
        args.push(format!("--tls-private-key-file={CERT_DIR}/tls.key"));
        Volume {
            name: "serving-cert".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(p.tls_secret.clone()),
                default_mode: Some(0o440),
                ..Default::default()
            }),
            ..Default::default()
        }
    } else {
        // The adapter writes its self-signed certificate here.
        args.push(format!("--cert-dir={CERT_DIR}"));
        Volume { name: "serving-cert".into(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Default::default() }
    };
    let mut env = vec![
        EnvVar {
            name: "SDC_TOKEN".into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: TOKEN_SECRET.into(),
                    key: TOKEN_KEY.into(),
                    optional: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
        EnvVar { name: "SDC_ENDPOINT".into(), value: Some(p.sysdig_api_endpoint.clone()), ..Default::default() },
    ];
    if let Some(name) = &p.cluster_name {
        env.push(EnvVar { name: "CLUSTER_NAME".into(), value: Some(name.clone()), ..Default::default() });
    }
    let mut volumes = vec![serving_volume];
    let mut mounts = vec![VolumeMount {
        name: "serving-cert".into(),
        mount_path: CERT_DIR.into(),
        read_only: p.ca_bundle.is_some().then_some(true),
        ..Default::default()
    }];
    if p.sysdig_api_ca.is_some() {
        // Go reads the roots it trusts from SSL_CERT_FILE.
        env.push(EnvVar {
            name: "SSL_CERT_FILE".into(),
            value: Some("/etc/sysdig-api-ca/ca.crt".into()),
            ..Default::default()
        });
        volumes.push(Volume {
            name: "sysdig-api-ca".into(),
            config_map: Some(ConfigMapVolumeSource { name: API_CA_CONFIG_MAP.into(), ..Default::default() }),
            ..Default::default()
        });
        mounts.push(VolumeMount {
            name: "sysdig-api-ca".into(),
            mount_path: "/etc/sysdig-api-ca".into(),
            read_only: Some(true),
            ..Default::default()
        });
    }
    let tcp = || TCPSocketAction { port: IntOrString::String("https".into()), ..Default::default() };
    let container = Container {
        name: "custom-metrics-server".into(),
        image: Some(p.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec!["adapter".into()]),
        args: Some(args),
        env: Some(env),
        ports: Some(vec![ContainerPort {
            name: Some("https".into()),
            container_port: PORT,
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        resources: Some(p.resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(mounts),
        // A port check: the adapter's /healthz needs delegated authorization on old
        // apiserver libraries, which a kubelet probe does not have.
        readiness_probe: Some(Probe {
            tcp_socket: Some(tcp()),
            period_seconds: Some(10),
            timeout_seconds: Some(3),
            ..Default::default()
        }),
        liveness_probe: Some(Probe {
            tcp_socket: Some(tcp()),
            initial_delay_seconds: Some(10),
            period_seconds: Some(20),
            timeout_seconds: Some(3),
            failure_threshold: Some(3),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut template_labels = labels(NAME);
    template_labels.extend(selector_labels());
    Deployment {
        metadata: meta::namespaced(NAME, NAMESPACE, labels(NAME)),
        spec: Some(DeploymentSpec {
            replicas: Some(p.replicas as i32),
            selector: meta::selector(selector_labels()),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels),
                    annotations: Some(BTreeMap::from([("checksum/config".to_string(), checksum.to_string())])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(NAME.into()),
                    security_context: Some(pod_security(NOBODY, NOBODY, NOBODY)),
                    containers: vec![container],
                    volumes: Some(volumes),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::testing::path_of;
    use crate::stack::Stack;

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBCA==\n-----END CERTIFICATE-----";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----";

    fn insecure() -> SysdigMetricsAdapterParams {
        SysdigMetricsAdapterParams { insecure_skip_tls_verify: true, ..Default::default() }
    }

    fn verified() -> SysdigMetricsAdapterParams {
        SysdigMetricsAdapterParams { ca_bundle: Some(CA.into()), ..Default::default() }
    }

    fn build(p: &SysdigMetricsAdapterParams, cx: &Context) -> Vec<Object> {
        SysdigMetricsAdapter::build(p, cx).unwrap_or_else(|e| panic!("builds: {e}"))
    }

    fn find<'a>(objects: &'a [Object], key: &str) -> &'a serde_json::Value {
        &objects.iter().find(|o| o.key == key).unwrap_or_else(|| panic!("no object `{key}`")).value
    }

    fn cx_with(values: &[(&str, &str)]) -> Context {
        let mut cx = Context::default();
        cx.secrets.insert(
            "sysdig_metrics_adapter".into(),
            values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        );
        cx
    }

    #[test]
    fn default_build_has_the_seeds_objects() {
        let objects = build(&insecure(), &Context::default());
        let got: Vec<(&str, &str, &str, &str)> =
            objects.iter().map(|o| (o.key.as_str(), o.kind(), o.namespace(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("serviceAccount", "ServiceAccount", "custom-metrics", "custom-metrics-apiserver"),
                ("authDelegator", "ClusterRoleBinding", "", "custom-metrics-system-auth-delegator"),
                ("authReader", "RoleBinding", "kube-system", "custom-metrics-auth-reader"),
                ("resourceReader", "ClusterRole", "", "custom-metrics-resource-reader"),
                ("resourceReaderBinding", "ClusterRoleBinding", "", "custom-metrics-apiserver-resource-reader"),
                ("metricsGetter", "ClusterRole", "", "custom-metrics-getter"),
                ("metricsGetterBinding", "ClusterRoleBinding", "", "hpa-custom-metrics-getter"),
                ("svc", "Service", "custom-metrics", "api"),
                ("apiService", "APIService", "", "v1beta1.custom.metrics.k8s.io"),
                ("deploy", "Deployment", "custom-metrics", "custom-metrics-apiserver"),
            ]
        );
        assert_eq!(find(&objects, "authDelegator")["roleRef"]["name"], "system:auth-delegator");
        assert_eq!(find(&objects, "authReader")["roleRef"]["name"], "extension-apiserver-authentication-reader");
        assert_eq!(
            find(&objects, "metricsGetterBinding")["subjects"][0],
            serde_json::json!({"kind": "ServiceAccount", "name": "horizontal-pod-autoscaler", "namespace": "kube-system"})
        );
        let getter = &find(&objects, "metricsGetter")["rules"][0];
        assert_eq!(getter["apiGroups"], serde_json::json!(["custom.metrics.k8s.io"]));
        assert_eq!(getter["verbs"], serde_json::json!(["get", "list", "watch"]));
    }

    #[test]
    fn api_service_is_v1_and_skips_verification_only_when_asked() {
        let objects = build(&insecure(), &Context::default());
        let api = find(&objects, "apiService");
        assert_eq!(api["apiVersion"], "apiregistration.k8s.io/v1");
        assert_eq!(api["spec"]["insecureSkipTLSVerify"], true);
        assert!(api["spec"].get("caBundle").is_none());
        assert_eq!(
            api["spec"]["service"],
            serde_json::json!({"name": "api", "namespace": "custom-metrics", "port": 443})
        );
        assert_eq!(api["spec"]["group"], "custom.metrics.k8s.io");
        assert_eq!(api["spec"]["version"], "v1beta1");

        let objects = build(&verified(), &Context::default());
        let api = find(&objects, "apiService");
        assert!(api["spec"].get("insecureSkipTLSVerify").is_none());
        let b64 = serde_json::to_value(ByteString(format!("{CA}\n").into_bytes())).expect("serializes");
        assert_eq!(api["spec"]["caBundle"], b64);
        let args = find(&objects, "deploy")["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
        assert!(args.contains("--tls-cert-file=/var/run/serving-cert/tls.crt"), "{args}");
    }

    #[test]
    fn neither_or_both_tls_settings_are_errors() {
        let e = SysdigMetricsAdapter::build(&SysdigMetricsAdapterParams::default(), &Context::default())
            .expect_err("neither");
        assert_eq!(path_of(&e), "sysdig_metrics_adapter.ca_bundle");
        assert!(e.helps().iter().any(|h| h.contains("insecure_skip_tls_verify: true")), "{:?}", e.helps());
        let both = SysdigMetricsAdapterParams { insecure_skip_tls_verify: true, ..verified() };
        let e = SysdigMetricsAdapter::build(&both, &Context::default()).expect_err("both");
        assert_eq!(path_of(&e), "sysdig_metrics_adapter.insecure_skip_tls_verify");
        let bad = SysdigMetricsAdapterParams { ca_bundle: Some("not pem".into()), ..Default::default() };
        assert_eq!(
            path_of(&SysdigMetricsAdapter::build(&bad, &Context::default()).expect_err("pem")),
            "sysdig_metrics_adapter.ca_bundle"
        );
    }

    #[test]
    fn token_comes_from_a_secret() {
        let objects = build(&insecure(), &Context::default());
        let c = &find(&objects, "deploy")["spec"]["template"]["spec"]["containers"][0];
        let env = c["env"].as_array().expect("env");
        let token = env.iter().find(|e| e["name"] == "SDC_TOKEN").expect("SDC_TOKEN");
        assert_eq!(token["valueFrom"]["secretKeyRef"], serde_json::json!({"name": "sysdig-api", "key": "access-key"}));
        let endpoint = env.iter().find(|e| e["name"] == "SDC_ENDPOINT").expect("SDC_ENDPOINT");
        assert_eq!(endpoint["value"], "https://sdc-api.sysdigcloud.svc/api/");
        let ext = SysdigMetricsAdapter::externals(&insecure(), &Context::default());
        assert!(ext.contains(&("Secret".to_string(), "custom-metrics".to_string(), "sysdig-api".to_string())));

        let cx = cx_with(&[("api-token", "tok-123")]);
        let ext = SysdigMetricsAdapter::externals(&insecure(), &cx);
        assert!(!ext.iter().any(|(k, _, _)| k == "Secret"));
        let objects = build(&insecure(), &cx);
        assert_eq!(find(&objects, "secret")["metadata"]["name"], "sysdig-api");
        for o in objects.iter().filter(|o| o.kind() != "Secret") {
            assert!(!o.value.to_string().contains("tok-123"), "{}", o.key);
        }
        let sum = |objects: &[Object]| {
            find(objects, "deploy")["spec"]["template"]["metadata"]["annotations"]["checksum/config"].clone()
        };
        assert_ne!(sum(&objects), sum(&build(&insecure(), &cx_with(&[("api-token", "tok-456")]))));
    }

    #[test]
    fn serving_certificate_from_the_secrets_file_or_the_cluster() {
        let ext = SysdigMetricsAdapter::externals(&verified(), &Context::default());
        assert!(ext.contains(&(
            "Secret".to_string(),
            "custom-metrics".to_string(),
            "custom-metrics-apiserver-tls".to_string()
        )));
        let cx = cx_with(&[("tls-crt", CA), ("tls-key", KEY)]);
        let objects = build(&verified(), &cx);
        let tls = find(&objects, "tlsSecret");
        assert_eq!(tls["type"], "kubernetes.io/tls");
        assert_eq!(tls["metadata"]["name"], "custom-metrics-apiserver-tls");
        assert!(SysdigMetricsAdapter::build(&verified(), &cx_with(&[("tls-crt", CA)])).is_err());
        assert!(SysdigMetricsAdapter::build(&insecure(), &cx).is_err(), "a certificate nothing verifies");
    }

    #[test]
    fn sysdig_api_ca_is_trusted_through_ssl_cert_file() {
        let p = SysdigMetricsAdapterParams { sysdig_api_ca: Some(CA.into()), ..insecure() };
        let objects = build(&p, &Context::default());
        assert_eq!(find(&objects, "apiCa")["data"]["ca.crt"], format!("{CA}\n"));
        let spec = &find(&objects, "deploy")["spec"]["template"]["spec"];
        let env = spec["containers"][0]["env"].as_array().expect("env");
        assert!(env.iter().any(|e| e["name"] == "SSL_CERT_FILE" && e["value"] == "/etc/sysdig-api-ca/ca.crt"));
    }

    #[test]
    fn adapter_runs_locked_down_behind_443() {
        let objects = build(&insecure(), &Context::default());
        let spec = &find(&objects, "deploy")["spec"]["template"]["spec"];
        assert_eq!(spec["securityContext"]["runAsUser"], 65534);
        assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
        let c = &spec["containers"][0];
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(c["ports"][0]["containerPort"], 6443);
        assert!(c["args"].to_string().contains("--cert-dir=/var/run/serving-cert"));
        assert!(c["resources"]["limits"]["memory"].is_string());
        assert_eq!(spec["serviceAccountName"], "custom-metrics-apiserver");
        let svc = find(&objects, "svc");
        assert_eq!(svc["spec"]["ports"][0]["port"], 443);
        assert_eq!(svc["spec"]["selector"], serde_json::json!({"app": "custom-metrics-apiserver"}));
        let pod_labels = find(&objects, "deploy")["spec"]["template"]["metadata"]["labels"].clone();
        assert_eq!(pod_labels["app"], "custom-metrics-apiserver");
        assert_eq!(crate::namespaces::pod_security_level(find(&objects, "deploy")), "restricted");
    }

    #[test]
    fn bad_parameters_are_errors() {
        let err =
            |p: SysdigMetricsAdapterParams| SysdigMetricsAdapter::build(&p, &Context::default()).expect_err("rejected");
        for (p, path) in [
            (SysdigMetricsAdapterParams { image: "adapter".into(), ..insecure() }, "sysdig_metrics_adapter.image"),
            (
                SysdigMetricsAdapterParams { sysdig_api_endpoint: "https://sdc-api/api".into(), ..insecure() },
                "sysdig_metrics_adapter.sysdig_api_endpoint",
            ),
            (SysdigMetricsAdapterParams { replicas: 0, ..insecure() }, "sysdig_metrics_adapter.replicas"),
            (SysdigMetricsAdapterParams { log_level: 11, ..insecure() }, "sysdig_metrics_adapter.log_level"),
            (
                SysdigMetricsAdapterParams { cluster_name: Some(" ".into()), ..insecure() },
                "sysdig_metrics_adapter.cluster_name",
            ),
            (
                SysdigMetricsAdapterParams { sysdig_api_ca: Some("x".into()), ..insecure() },
                "sysdig_metrics_adapter.sysdig_api_ca",
            ),
        ] {
            let e = err(p);
            assert_eq!(path_of(&e), path);
            assert!(!e.helps().is_empty(), "{path}: no help");
        }
    }

    #[test]
    fn every_object_round_trips() {
        let cx = cx_with(&[("api-token", "t"), ("tls-crt", CA), ("tls-key", KEY)]);
        let p = SysdigMetricsAdapterParams {
            sysdig_api_ca: Some(CA.into()),
            cluster_name: Some("prod".into()),
            ..verified()
        };
        for mut o in build(&p, &cx).into_iter().chain(build(&insecure(), &Context::default())) {
            let before = o.value.clone();
            o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
            assert_eq!(before, o.value, "{} changed in the round trip", o.key);
        }
    }

    #[test]
    fn full_render_passes_the_reference_checks() {
        let mut s = Stack::new();
        s.platform("eks", "test").expect("eks exists");
        s.set("platform.components.sysdig_metrics_adapter=true", false).expect("a valid --set");
        s.set("sysdig_metrics_adapter.insecure_skip_tls_verify=true", false).expect("a valid --set");
        let rendered = s.render(&[&SysdigMetricsAdapter]).unwrap_or_else(|e| panic!("{}", e.render()));
        let ns = rendered.objects.iter().find(|o| o.kind() == "Namespace" && o.name() == "custom-metrics");
        assert_eq!(
            ns.expect("custom-metrics").value["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            "restricted"
        );
        assert!(rendered.objects.iter().any(|o| o.kind() == "APIService"));
        // Without a TLS choice the render fails with the parameter's path.
        let mut s = Stack::new();
        s.platform("eks", "test").expect("eks exists");
        s.set("platform.components.sysdig_metrics_adapter=true", false).expect("a valid --set");
        let e = s.render(&[&SysdigMetricsAdapter]).expect_err("no TLS choice");
        assert_eq!(path_of(e.error()), "sysdig_metrics_adapter.ca_bundle");
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(SysdigMetricsAdapterParams::default()).expect("serializes");
        assert_eq!(json["insecure_skip_tls_verify"], false);
        let back: SysdigMetricsAdapterParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, SysdigMetricsAdapterParams::default());
        assert!(serde_json::from_value::<SysdigMetricsAdapterParams>(serde_json::json!({"api_token": "x"})).is_err());
    }
}
