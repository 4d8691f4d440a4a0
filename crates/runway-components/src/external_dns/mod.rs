//! external-dns: keeps the DNS zone's records in step with the runtime's Ingresses and
//! LoadBalancer Services, BKPR's `edns` component (both `external_dns` and `edns` are
//! accepted as the layer key) on the current upstream image.
//!
//! # Providers
//!
//! `platform.dns_provider` picks the DNS service; its credentials always come from a
//! Secret or from the pod's cloud identity, never from a literal:
//!
//! | provider | flags | credentials (`credentials: secret`) |
//! | --- | --- | --- |
//! | `google` | `--google-project` from `config.cloud.gcp_project` | Secret `external-dns-google-credentials`, key `credentials.json` (a service account key) |
//! | `aws` | `--aws-zone-type=public`, `AWS_REGION` from `config.cloud.aws_region` | Secret `external-dns-aws-conf`, keys `aws_access_key_id`, `aws_secret_access_key` |
//! | `azure` | `--azure-config-file` | Secret `external-dns-azure-conf`, key `azure.json` |
//! | `rfc2136` | `rfc2136.host`, `.port`, `.tsig_keyname`, `.tsig_secret_alg` | Secret `external-dns-rfc2136`, key `tsig_secret` |
//! | `pdns` | `--pdns-server` (`pdns.server`, default the `powerdns` Service) | Secret `powerdns`, key `api_key` (the PowerDNS component's) |
//!
//! A Secret is rendered when its values are given at render time (`--secrets-file` with an
//! `external_dns:` block of the keys above; `pdns` excepted, whose key belongs to
//! PowerDNS), and is otherwise declared external: it must exist in the namespace.
//! `credentials: ambient` uses the pod's identity instead (GKE/AKS Workload Identity,
//! EKS IRSA or Pod Identity); for `azure` runway then renders `azure.json` itself from
//! `config.cloud` (tenant, subscription, resource group) with
//! `useWorkloadIdentityExtension`.
//!
//! `dns_provider: none` (kind) has no DNS to write to: rendering external-dns there is an
//! error, with the advice to leave it out of the stack.
//!
//! # Differences from BKPR
//!
//! Names and keys are BKPR's (`external-dns`, ClusterRoleBinding `external-dns-viewer`;
//! keys `sa`, `clusterRole`, `clusterRoleBinding`, `deploy`, and the credentials Secret as
//! `gcreds` on google, `azconf` on azure, `secret` elsewhere), and so are the TXT registry
//! settings (owner = the DNS zone, prefix `_externaldns.`), so the records an existing
//! install created stay owned. RBAC reads Ingresses from `networking.k8s.io` (BKPR:
//! `extensions`) and EndpointSlices, which current external-dns reads instead of
//! Endpoints. The Deployment uses the `Recreate` strategy: two instances must never write
//! the zone at once.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, PodSpec, PodTemplateSpec, Probe, Secret, SecretVolumeSource, ServiceAccount,
    Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use runway_core::refs::ExternalRef;
use runway_core::{Error, KeyPath, Object};

pub use self::params::{Credentials, ExternalDnsParams, PdnsParams, Policy, Rfc2136Params, DEFAULT_IMAGE};
use crate::common::env::{secret_env, value_env};
use crate::common::meta;
use crate::common::metrics::{MetricsEndpoint, Scrape};
use crate::common::pod::{container_security, pod_security};
use crate::common::rbac::{self, Grant};
use crate::component::{Component, ObjectDoc};
use crate::context::Context;

/// The Deployment, ServiceAccount and ClusterRole (BKPR's name).
pub const NAME: &str = "external-dns";
/// The ClusterRoleBinding (BKPR's name).
pub const BINDING_NAME: &str = "external-dns-viewer";
/// The metrics and health port (external-dns' default).
pub const METRICS_PORT: i32 = 7979;
/// uid and gid of the distroless image's `nonroot` user.
const UID: i64 = 65532;
/// The value of `app.kubernetes.io/component` on every object.
const COMPONENT_LABEL: &str = "external-dns";

/// The external-dns component.
pub struct ExternalDns;

impl Component for ExternalDns {
    const NAME: &'static str = "external_dns";
    const ALIASES: &'static [&'static str] = &["edns"];
    const SUMMARY: &'static str =
        "external-dns: DNS records in the platform's DNS (Cloud DNS, Route 53, Azure DNS, RFC 2136, PowerDNS) for Ingresses and Services";
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc {
            key: "sa",
            kind: "ServiceAccount",
            doc: "external-dns: reads the API (annotate it for ambient credentials)",
        },
        ObjectDoc {
            key: "clusterRole",
            kind: "ClusterRole",
            doc: "external-dns: read Services, Endpoints(Slices), Pods, Nodes, Ingresses",
        },
        ObjectDoc { key: "clusterRoleBinding", kind: "ClusterRoleBinding", doc: "external-dns-viewer" },
        ObjectDoc {
            key: "gcreds",
            kind: "Secret",
            doc: "external-dns-google-credentials (google, from `--secrets-file`)",
        },
        ObjectDoc {
            key: "azconf",
            kind: "Secret",
            doc: "external-dns-azure-conf: azure.json (azure, from `--secrets-file` or, ambient, from `config.cloud`)",
        },
        ObjectDoc {
            key: "secret",
            kind: "Secret",
            doc: "external-dns-aws-conf (aws) or external-dns-rfc2136 (rfc2136), from `--secrets-file`",
        },
        ObjectDoc { key: "deploy", kind: "Deployment", doc: "external-dns, one pod (Recreate)" },
        ObjectDoc {
            key: "podMonitor",
            kind: "PodMonitor",
            doc: "scrapes its `metrics` port (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`external-dns`: the API server and the DNS provider",
        },
    ];
    type Params = ExternalDnsParams;

    fn externals(p: &ExternalDnsParams, cx: &Context) -> Vec<ExternalRef> {
        let Ok(plan) = plan(p, cx) else { return Vec::new() };
        match plan.secret {
            SecretSource::External(name) => vec![("Secret".to_string(), cx.namespace().to_string(), name.to_string())],
            SecretSource::None | SecretSource::Rendered { .. } => Vec::new(),
        }
    }

    fn network(p: &ExternalDnsParams, cx: &Context) -> Vec<crate::network::Flows> {
        use crate::network::{tcp, udp, Flows};
        let f = Flows::new("deploy", "networkPolicy").to_api_server();
        vec![match cx.platform.dns_provider.as_str() {
            "pdns" => f.to_local(crate::powerdns::NAME, crate::powerdns::API_PORT),
            "rfc2136" => {
                let port = i32::from(p.rfc2136.port);
                f.to_internet(&[tcp(port), udp(port)], "RFC 2136 updates to the zone's DNS server")
            }
            "none" => f,
            _ => f.to_internet(&[tcp(443)], "the cloud's DNS API (Cloud DNS, Route 53, Azure DNS)"),
        }]
    }

    fn waivers(_: &ExternalDnsParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![
            Waiver::new("deploy", Check::SecretsAsEnv, "cloud SDK credentials (AWS keys, PowerDNS API key, TSIG secret) are read from the environment by external-dns"),
        ]
    }

    fn build(p: &ExternalDnsParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let ns = cx.namespace();
        let plan = plan(p, cx)?;
        let mut objects = vec![
            Object::new(Self::NAME, "sa", &service_account(ns)),
            Object::new(Self::NAME, "clusterRole", &cluster_role()),
            Object::new(Self::NAME, "clusterRoleBinding", &cluster_role_binding(ns)),
        ];
        if let SecretSource::Rendered { key, name, data } = &plan.secret {
            objects.push(Object::new(Self::NAME, key, &secret(name, ns, data)));
        }
        let scrape = scrape(ns);
        objects.push(Object::new(Self::NAME, "deploy", &deployment(p, ns, &plan, scrape.annotations(cx))));
        objects.extend(scrape.monitor(Self::NAME, "podMonitor", cx));
        Ok(objects)
    }
}

/// Where the credentials Secret comes from.
#[derive(Debug)]
enum SecretSource {
    /// No Secret (ambient credentials on google and aws).
    None,
    /// Rendered by runway under object `key`.
    Rendered { key: &'static str, name: &'static str, data: BTreeMap<String, String> },
    /// Expected in the namespace.
    External(&'static str),
}

/// What the provider needs: flags, environment, a mounted Secret, extra pod labels.
#[derive(Debug)]
struct Plan {
    args: Vec<String>,
    env: Vec<EnvVar>,
    /// `(secret name, mount path)` of a Secret mounted as files.
    mount: Option<(&'static str, &'static str)>,
    secret: SecretSource,
    pod_labels: BTreeMap<String, String>,
}

fn config_path(key: &str) -> KeyPath {
    KeyPath::root().key("config").key(key)
}

fn cloud_path(key: &str) -> KeyPath {
    KeyPath::root().key("config").key("cloud").key(key)
}

fn required<'a>(value: &'a Option<String>, path: KeyPath, why: &str, example: &str) -> Result<&'a str, Error> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Error::invalid(format!("{why}, but `{path}` is not set"))
            .help(format!("set it in a layer or with `--set {path}={example}`"))
            .with_path(path)),
    }
}

/// The secret values of `external_dns` from a secrets file, checked against the keys the
/// provider needs. Messages name keys, never values.
fn given_secrets(cx: &Context, provider: &str, keys: &[&str]) -> Result<Option<BTreeMap<String, String>>, Error> {
    let Some(values) = cx.secrets_of(ExternalDns::NAME) else { return Ok(None) };
    let from_file = "in the secrets file (`--secrets-file`)";
    let list = keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    for k in values.keys() {
        if !keys.contains(&k.as_str()) {
            let mut e =
                Error::invalid(format!("`external_dns.{k}` {from_file} is not a secret of the `{provider}` provider"))
                    .note(format!("its secrets are {list}"));
            if let Some(m) = runway_core::suggest::best_match(k, keys.iter().copied()) {
                e = e.help(format!("did you mean `{m}`?"));
            }
            return Err(e);
        }
    }
    for k in keys {
        if values.get(*k).is_none_or(|v| v.trim().is_empty()) {
            return Err(Error::invalid(format!("`external_dns.{k}` is missing {from_file}"))
                .help(format!("give all of {list}, or none and create the Secret yourself")));
        }
    }
    Ok(Some(values.clone()))
}

/// A Secret from the secrets file (`Rendered`) or expected in the namespace (`External`).
fn secret_from(
    cx: &Context,
    provider: &str,
    key: &'static str,
    name: &'static str,
    keys: &[&str],
) -> Result<SecretSource, Error> {
    Ok(match given_secrets(cx, provider, keys)? {
        Some(data) => SecretSource::Rendered { key, name, data },
        None => SecretSource::External(name),
    })
}

/// Works out the provider's flags and credentials, or says what is missing.
fn plan(p: &ExternalDnsParams, cx: &Context) -> Result<Plan, Error> {
    let provider = cx.platform.dns_provider.as_str();
    let zone =
        match cx.config.dns_zone.as_deref().map(str::trim) {
            Some(z) if !z.is_empty() => z,
            _ => return Err(Error::invalid("`external_dns` writes records under `config.dns_zone`, which is not set")
                .with_path(config_path("dns_zone"))
                .help(
                    "set it in a layer (`config: {dns_zone: example.com}`) or with `--set config.dns_zone=example.com`",
                )),
        };
    let owner = p.txt_owner_id.as_deref().unwrap_or(zone);
    let mut plan = Plan {
        args: vec![
            "--source=service".into(),
            "--source=ingress".into(),
            format!("--domain-filter={zone}"),
            "--registry=txt".into(),
            format!("--txt-owner-id={owner}"),
            format!("--txt-prefix={}", p.txt_prefix),
            format!("--policy={}", p.policy.flag()),
            format!("--interval={}", p.interval),
            format!("--metrics-address=:{METRICS_PORT}"),
        ],
        env: Vec::new(),
        mount: None,
        secret: SecretSource::None,
        pod_labels: BTreeMap::new(),
    };
    let ambient = p.credentials == Credentials::Ambient;
    match provider {
        "google" => {
            let project = required(&cx.config.cloud.gcp_project, cloud_path("gcp_project"), "the `google` provider writes to Cloud DNS of a project", "my-project")?;
            plan.args.extend(["--provider=google".into(), format!("--google-project={project}"), "--google-zone-visibility=public".into()]);
            if !ambient {
                let name = "external-dns-google-credentials";
                plan.secret = secret_from(cx, provider, "gcreds", name, &["credentials.json"])?;
                plan.mount = Some((name, "/google"));
                plan.env.push(value_env("GOOGLE_APPLICATION_CREDENTIALS", "/google/credentials.json"));
            }
        }
        "aws" => {
            let region = required(&cx.config.cloud.aws_region, cloud_path("aws_region"), "the `aws` provider's client needs a region", "eu-west-1")?;
            plan.args.extend(["--provider=aws".into(), "--aws-zone-type=public".into()]);
            plan.env.push(value_env("AWS_REGION", region));
            if !ambient {
                let name = "external-dns-aws-conf";
                plan.secret = secret_from(cx, provider, "secret", name, &["aws_access_key_id", "aws_secret_access_key"])?;
                plan.env.push(secret_env("AWS_ACCESS_KEY_ID", name, "aws_access_key_id"));
                plan.env.push(secret_env("AWS_SECRET_ACCESS_KEY", name, "aws_secret_access_key"));
            }
        }
        "azure" => {
            let name = "external-dns-azure-conf";
            plan.args.extend(["--provider=azure".into(), "--azure-config-file=/etc/kubernetes/azure.json".into()]);
            plan.mount = Some((name, "/etc/kubernetes"));
            plan.secret = if ambient {
                if cx.secrets_of(ExternalDns::NAME).is_some() {
                    return Err(Error::invalid("`credentials: ambient` takes no secret values, but the secrets file has an `external_dns` block")
                        .with_path(KeyPath::root().key("external_dns").key("credentials"))
                        .help("remove the block, or use `credentials: secret` to render `azure.json` from it"));
                }
                let why = "ambient `azure` credentials write azure.json from the cluster facts";
                let tenant = required(&cx.config.cloud.azure_tenant_id, cloud_path("azure_tenant_id"), why, "<tenant-id>")?;
                let subscription = required(&cx.config.cloud.azure_subscription_id, cloud_path("azure_subscription_id"), why, "<subscription-id>")?;
                let group = required(&cx.config.cloud.azure_resource_group, cloud_path("azure_resource_group"), why, "dns-rg")?;
                let json = serde_json::json!({
                    "tenantId": tenant,
                    "subscriptionId": subscription,
                    "resourceGroup": group,
                    "useWorkloadIdentityExtension": true,
                });
                plan.pod_labels.insert("azure.workload.identity/use".into(), "true".into());
                let text = serde_json::to_string_pretty(&json).unwrap_or_default();
                SecretSource::Rendered { key: "azconf", name, data: BTreeMap::from([("azure.json".to_string(), text + "\n")]) }
            } else {
                secret_from(cx, provider, "azconf", name, &["azure.json"])?
            };
        }
        "rfc2136" => {
            no_ambient(ambient, provider)?;
            let why = "the `rfc2136` provider sends updates to a DNS server";
            let rp = KeyPath::root().key("external_dns").key("rfc2136");
            let host = required(&p.rfc2136.host, rp.key("host"), why, "ns1.example.com")?;
            let keyname = required(&p.rfc2136.tsig_keyname, rp.key("tsig_keyname"), "updates are signed with a TSIG key", "externaldns-key")?;
            plan.args.extend([
                "--provider=rfc2136".into(),
                format!("--rfc2136-host={host}"),
                format!("--rfc2136-port={}", p.rfc2136.port),
                format!("--rfc2136-zone={zone}"),
                format!("--rfc2136-tsig-secret-alg={}", p.rfc2136.tsig_secret_alg),
                format!("--rfc2136-tsig-keyname={keyname}"),
                "--rfc2136-tsig-axfr".into(),
            ]);
            let name = "external-dns-rfc2136";
            plan.secret = secret_from(cx, provider, "secret", name, &["tsig_secret"])?;
            plan.env.push(secret_env("EXTERNAL_DNS_RFC2136_TSIG_SECRET", name, "tsig_secret"));
        }
        "pdns" => {
            no_ambient(ambient, provider)?;
            if cx.secrets_of(ExternalDns::NAME).is_some() {
                return Err(Error::invalid("the `pdns` provider takes no secret values of its own")
                    .help("PowerDNS's API key is the `api_key` of the Secret `powerdns` (the PowerDNS component's); remove the `external_dns` block from the secrets file"));
            }
            let server = p.pdns.server.clone().unwrap_or_else(|| format!("http://powerdns.{}.svc:8081", cx.namespace()));
            plan.args.extend(["--provider=pdns".into(), format!("--pdns-server={server}")]);
            plan.env.push(secret_env("EXTERNAL_DNS_PDNS_API_KEY", "powerdns", "api_key"));
            plan.secret = SecretSource::External("powerdns");
        }
        "none" => {
            return Err(Error::invalid("`external_dns` is rendered but the platform has no DNS provider (`platform.dns_provider: none`)")
                .with_path(KeyPath::root().key("platform").key("dns_provider"))
                .help("leave `external_dns` out of the stack's `components:`, or set `platform.dns_provider` to `google`, `aws`, `azure`, `rfc2136` or `pdns`"))
        }
        other => {
            return Err(Error::invalid(format!("external-dns has no provider `{other}` in runway"))
                .with_path(KeyPath::root().key("platform").key("dns_provider"))
                .help("use one of `google`, `aws`, `azure`, `rfc2136`, `pdns`, or `none` without external-dns"))
        }
    }
    Ok(plan)
}

fn no_ambient(ambient: bool, provider: &str) -> Result<(), Error> {
    if ambient {
        return Err(Error::invalid(format!("the `{provider}` provider has no ambient credentials"))
            .with_path(KeyPath::root().key("external_dns").key("credentials"))
            .help("use `credentials: secret`"));
    }
    Ok(())
}

fn labels() -> BTreeMap<String, String> {
    meta::labels(NAME, COMPONENT_LABEL)
}

fn service_account(ns: &str) -> ServiceAccount {
    // The token is mounted: external-dns watches the API.
    rbac::service_account(meta::namespaced(NAME, ns, labels()), Some(true))
}

fn read_rule(group: &str, resources: &[&str]) -> PolicyRule {
    // In this order, not `rbac::READ`'s: renders stay as they were.
    rbac::rule(&[group], resources, &["get", "watch", "list"])
}

fn cluster_role() -> ClusterRole {
    rbac::cluster_role(
        meta::cluster_scoped(NAME, labels()),
        vec![
            read_rule("", &["services", "endpoints", "pods", "nodes"]),
            read_rule("discovery.k8s.io", &["endpointslices"]),
            read_rule("networking.k8s.io", &["ingresses"]),
        ],
    )
}

fn cluster_role_binding(ns: &str) -> ClusterRoleBinding {
    Grant { role: NAME, service_account: NAME, namespace: ns }
        .cluster_role_binding(meta::cluster_scoped(BINDING_NAME, labels()))
}

fn secret(name: &str, ns: &str, data: &BTreeMap<String, String>) -> Secret {
    Secret {
        metadata: meta::namespaced(name, ns, labels()),
        type_: Some("Opaque".into()),
        data: Some(data.iter().map(|(k, v)| (k.clone(), ByteString(v.as_bytes().to_vec()))).collect()),
        ..Default::default()
    }
}

/// external-dns' metrics (`metrics` port, 7979).
pub fn scrape(ns: &str) -> Scrape {
    Scrape::pods(COMPONENT_LABEL, NAME, ns, meta::selector_labels(NAME), MetricsEndpoint::new("metrics", METRICS_PORT))
}

fn deployment(p: &ExternalDnsParams, ns: &str, plan: &Plan, annotations: BTreeMap<String, String>) -> Deployment {
    let mut template_labels = labels();
    template_labels.extend(meta::selector_labels(NAME));
    template_labels.extend(plan.pod_labels.clone());
    let probe = crate::common::probes::http("/healthz", "metrics", 10, 5, 3);
    let (volumes, mounts) = match plan.mount {
        Some((secret, path)) => (
            Some(vec![Volume {
                name: "credentials".into(),
                secret: Some(SecretVolumeSource { secret_name: Some(secret.into()), ..Default::default() }),
                ..Default::default()
            }]),
            Some(vec![VolumeMount {
                name: "credentials".into(),
                mount_path: path.into(),
                read_only: Some(true),
                ..Default::default()
            }]),
        ),
        None => (None, None),
    };
    let container = Container {
        name: NAME.into(),
        image: Some(p.image.clone()),
        args: Some(plan.args.clone()),
        env: (!plan.env.is_empty()).then(|| plan.env.clone()),
        ports: Some(vec![ContainerPort {
            name: Some("metrics".into()),
            container_port: METRICS_PORT,
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        readiness_probe: Some(probe.clone()),
        liveness_probe: Some(Probe { initial_delay_seconds: Some(10), ..probe }),
        resources: Some(p.resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: mounts,
        ..Default::default()
    };
    Deployment {
        metadata: meta::namespaced(NAME, ns, labels()),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            // Never two writers of the zone at once.
            strategy: Some(DeploymentStrategy { type_: Some("Recreate".into()), ..Default::default() }),
            selector: meta::selector(meta::selector_labels(NAME)),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels),
                    annotations: Some(annotations),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(NAME.into()),
                    enable_service_links: Some(false),
                    security_context: Some(pod_security(UID, UID, UID)),
                    containers: vec![container],
                    volumes,
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
    use crate::common::testing::{find, path_of};
    use crate::stack::Stack;
    use runway_core::SourceKind;

    fn cx(provider: &str) -> Context {
        let mut cx = Context::default();
        cx.config.dns_zone = Some("example.com".into());
        cx.platform.dns_provider = provider.into();
        cx.config.cloud.gcp_project = Some("my-project".into());
        cx.config.cloud.aws_region = Some("eu-west-1".into());
        cx.config.cloud.azure_tenant_id = Some("tenant".into());
        cx.config.cloud.azure_subscription_id = Some("sub".into());
        cx.config.cloud.azure_resource_group = Some("dns-rg".into());
        cx
    }

    fn rfc2136() -> ExternalDnsParams {
        ExternalDnsParams {
            rfc2136: Rfc2136Params {
                host: Some("ns1.example.com".into()),
                tsig_keyname: Some("k".into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn build(p: &ExternalDnsParams, cx: &Context) -> Vec<Object> {
        ExternalDns::build(p, cx).unwrap_or_else(|e| panic!("{e}"))
    }

    fn container(objects: &[Object]) -> &serde_json::Value {
        &find(objects, "deploy").value["spec"]["template"]["spec"]["containers"][0]
    }

    fn args_of(objects: &[Object]) -> Vec<String> {
        container(objects)["args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect()
    }

    fn env_of<'a>(objects: &'a [Object], name: &str) -> Option<&'a serde_json::Value> {
        container(objects)["env"].as_array().into_iter().flatten().find(|e| e["name"] == name)
    }

    #[test]
    fn default_build_has_bkpr_names_keys_and_registry() {
        let objects = build(&ExternalDnsParams::default(), &cx("google"));
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("sa", "ServiceAccount", "external-dns"),
                ("clusterRole", "ClusterRole", "external-dns"),
                ("clusterRoleBinding", "ClusterRoleBinding", "external-dns-viewer"),
                ("deploy", "Deployment", "external-dns"),
            ]
        );
        let args = args_of(&objects);
        for want in [
            "--source=service",
            "--source=ingress",
            "--domain-filter=example.com",
            "--txt-owner-id=example.com",
            "--txt-prefix=_externaldns.",
            "--registry=txt",
            "--policy=sync",
            "--metrics-address=:7979",
        ] {
            assert!(args.iter().any(|a| a == want), "{want} not in {args:?}");
        }
        let d = &find(&objects, "deploy").value;
        assert_eq!(d["spec"]["strategy"]["type"], "Recreate");
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"], "7979");
        assert_eq!(container(&objects)["image"], DEFAULT_IMAGE);
    }

    #[test]
    fn cluster_role_reads_what_the_sources_need() {
        let objects = build(&ExternalDnsParams::default(), &cx("google"));
        let rules = &find(&objects, "clusterRole").value["rules"];
        let has = |group: &str, resource: &str| {
            rules.as_array().into_iter().flatten().any(|r| {
                r["apiGroups"][0] == group
                    && r["resources"].as_array().into_iter().flatten().any(|x| x == resource)
                    && r["verbs"] == serde_json::json!(["get", "watch", "list"])
            })
        };
        for (g, r) in [
            ("", "services"),
            ("", "endpoints"),
            ("", "pods"),
            ("", "nodes"),
            ("networking.k8s.io", "ingresses"),
            ("discovery.k8s.io", "endpointslices"),
        ] {
            assert!(has(g, r), "{g}/{r}");
        }
        let b = &find(&objects, "clusterRoleBinding").value;
        assert_eq!(b["roleRef"]["name"], "external-dns");
        assert_eq!(
            b["subjects"][0],
            serde_json::json!({"kind": "ServiceAccount", "name": "external-dns", "namespace": "kubeprod"})
        );
    }

    #[test]
    fn every_object_round_trips_for_every_provider() {
        let mut with_secrets = cx("azure");
        with_secrets
            .secrets
            .insert("external_dns".into(), BTreeMap::from([("azure.json".to_string(), "{}".to_string())]));
        let ambient = ExternalDnsParams { credentials: Credentials::Ambient, ..Default::default() };
        let cases = [
            (ExternalDnsParams::default(), cx("google")),
            (ExternalDnsParams::default(), cx("aws")),
            (ExternalDnsParams::default(), with_secrets),
            (ambient.clone(), cx("azure")),
            (ambient, cx("google")),
            (rfc2136(), cx("rfc2136")),
            (ExternalDnsParams::default(), cx("pdns")),
        ];
        for (p, cx) in cases {
            for mut o in build(&p, &cx) {
                let before = o.value.clone();
                o.check_round_trip().unwrap_or_else(|e| panic!("{}/{}: {e}", cx.platform.dns_provider, o.key));
                assert_eq!(before, o.value, "{} changed in the round trip", o.key);
            }
        }
    }

    #[test]
    fn google_uses_the_project_and_a_credentials_secret() {
        let objects = build(&ExternalDnsParams::default(), &cx("google"));
        let args = args_of(&objects);
        assert!(args.contains(&"--provider=google".to_string()));
        assert!(args.contains(&"--google-project=my-project".to_string()));
        assert_eq!(
            env_of(&objects, "GOOGLE_APPLICATION_CREDENTIALS").expect("env")["value"],
            "/google/credentials.json"
        );
        let pod = &find(&objects, "deploy").value["spec"]["template"]["spec"];
        assert_eq!(pod["volumes"][0]["secret"]["secretName"], "external-dns-google-credentials");
        assert_eq!(pod["containers"][0]["volumeMounts"][0]["mountPath"], "/google");
        assert_eq!(
            ExternalDns::externals(&ExternalDnsParams::default(), &cx("google")),
            vec![("Secret".to_string(), "kubeprod".to_string(), "external-dns-google-credentials".to_string())]
        );
        let mut no_project = cx("google");
        no_project.config.cloud.gcp_project = None;
        let e = ExternalDns::build(&ExternalDnsParams::default(), &no_project).expect_err("project");
        assert_eq!(path_of(&e), "config.cloud.gcp_project");
    }

    #[test]
    fn aws_uses_route53_public_zones_and_secret_env() {
        let objects = build(&ExternalDnsParams::default(), &cx("aws"));
        let args = args_of(&objects);
        assert!(args.contains(&"--provider=aws".to_string()) && args.contains(&"--aws-zone-type=public".to_string()));
        assert_eq!(env_of(&objects, "AWS_REGION").expect("region")["value"], "eu-west-1");
        assert_eq!(
            env_of(&objects, "AWS_SECRET_ACCESS_KEY").expect("key")["valueFrom"]["secretKeyRef"],
            serde_json::json!({"name": "external-dns-aws-conf", "key": "aws_secret_access_key"})
        );
        // Ambient: no keys at all.
        let ambient = build(&ExternalDnsParams { credentials: Credentials::Ambient, ..Default::default() }, &cx("aws"));
        assert!(env_of(&ambient, "AWS_ACCESS_KEY_ID").is_none());
        assert!(ExternalDns::externals(
            &ExternalDnsParams { credentials: Credentials::Ambient, ..Default::default() },
            &cx("aws")
        )
        .is_empty());
    }

    #[test]
    fn azure_reads_azure_json_from_its_secret() {
        let objects = build(&ExternalDnsParams::default(), &cx("azure"));
        assert!(args_of(&objects).contains(&"--azure-config-file=/etc/kubernetes/azure.json".to_string()));
        let pod = &find(&objects, "deploy").value["spec"]["template"]["spec"];
        assert_eq!(pod["volumes"][0]["secret"]["secretName"], "external-dns-azure-conf");
        assert!(objects.iter().all(|o| o.kind() != "Secret"), "external unless given");

        let mut given = cx("azure");
        given.secrets.insert(
            "external_dns".into(),
            BTreeMap::from([("azure.json".to_string(), "{\"tenantId\":\"t\"}".to_string())]),
        );
        let objects = build(&ExternalDnsParams::default(), &given);
        let s = &find(&objects, "azconf").value;
        assert_eq!(s["metadata"]["name"], "external-dns-azure-conf");
        assert!(s["data"]["azure.json"].is_string());

        let ambient =
            build(&ExternalDnsParams { credentials: Credentials::Ambient, ..Default::default() }, &cx("azure"));
        let tpl = &find(&ambient, "deploy").value["spec"]["template"];
        assert_eq!(tpl["metadata"]["labels"]["azure.workload.identity/use"], "true");
        let json = String::from_utf8(
            serde_json::from_value::<ByteString>(find(&ambient, "azconf").value["data"]["azure.json"].clone())
                .expect("bytes")
                .0,
        )
        .expect("utf-8");
        let json: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(json["useWorkloadIdentityExtension"], true);
        assert_eq!(json["resourceGroup"], "dns-rg");
    }

    #[test]
    fn onprem_providers_take_their_flags_and_secrets() {
        let objects = build(&rfc2136(), &cx("rfc2136"));
        let args = args_of(&objects);
        for want in [
            "--provider=rfc2136",
            "--rfc2136-host=ns1.example.com",
            "--rfc2136-port=53",
            "--rfc2136-zone=example.com",
            "--rfc2136-tsig-keyname=k",
            "--rfc2136-tsig-secret-alg=hmac-sha256",
        ] {
            assert!(args.iter().any(|a| a == want), "{want}");
        }
        assert_eq!(
            env_of(&objects, "EXTERNAL_DNS_RFC2136_TSIG_SECRET").expect("tsig")["valueFrom"]["secretKeyRef"]["name"],
            "external-dns-rfc2136"
        );
        let e = ExternalDns::build(&ExternalDnsParams::default(), &cx("rfc2136")).expect_err("host");
        assert_eq!(path_of(&e), "external_dns.rfc2136.host");

        let objects = build(&ExternalDnsParams::default(), &cx("pdns"));
        assert!(args_of(&objects).contains(&"--pdns-server=http://powerdns.kubeprod.svc:8081".to_string()));
        assert_eq!(
            env_of(&objects, "EXTERNAL_DNS_PDNS_API_KEY").expect("key")["valueFrom"]["secretKeyRef"],
            serde_json::json!({"name": "powerdns", "key": "api_key"})
        );
        let e = ExternalDns::build(
            &ExternalDnsParams { credentials: Credentials::Ambient, ..Default::default() },
            &cx("pdns"),
        )
        .expect_err("ambient");
        assert_eq!(path_of(&e), "external_dns.credentials");
    }

    #[test]
    fn provider_none_is_an_error_with_help() {
        let e = ExternalDns::build(&ExternalDnsParams::default(), &cx("none")).expect_err("none");
        assert_eq!(path_of(&e), "platform.dns_provider");
        assert!(e.helps().iter().any(|h| h.contains("leave `external_dns` out")), "{:?}", e.helps());
        let e = ExternalDns::build(&ExternalDnsParams::default(), &cx("cloudflare")).expect_err("unknown");
        assert_eq!(path_of(&e), "platform.dns_provider");
        let mut no_zone = cx("google");
        no_zone.config.dns_zone = None;
        assert_eq!(
            path_of(&ExternalDns::build(&ExternalDnsParams::default(), &no_zone).expect_err("zone")),
            "config.dns_zone"
        );
    }

    #[test]
    fn secrets_file_values_are_checked_and_rendered() {
        let mut c = cx("aws");
        c.secrets.insert(
            "external_dns".into(),
            BTreeMap::from([
                ("aws_access_key_id".to_string(), "AKIA".to_string()),
                ("aws_secret_access_key".to_string(), "shh".to_string()),
            ]),
        );
        let objects = build(&ExternalDnsParams::default(), &c);
        assert_eq!(find(&objects, "secret").value["metadata"]["name"], "external-dns-aws-conf");
        assert!(ExternalDns::externals(&ExternalDnsParams::default(), &c).is_empty());
        for o in objects.iter().filter(|o| o.kind() != "Secret") {
            assert!(!o.value.to_string().contains("shh"), "{}", o.key);
        }
        c.secrets.insert("external_dns".into(), BTreeMap::from([("aws_access_key".to_string(), "AKIA".to_string())]));
        let e = ExternalDns::build(&ExternalDnsParams::default(), &c).expect_err("typo");
        assert!(e.helps().iter().any(|h| h.contains("aws_access_key_id")), "{:?}", e.helps());
    }

    #[test]
    fn pod_is_locked_down() {
        let objects = build(&ExternalDnsParams::default(), &cx("google"));
        let pod = &find(&objects, "deploy").value["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], "external-dns");
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        let c = &pod["containers"][0];
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert!(c["resources"]["limits"]["memory"].is_string());
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    }

    #[test]
    fn bad_parameters_are_errors_with_their_path() {
        for (p, want) in [
            (ExternalDnsParams { image: " ".into(), ..Default::default() }, "external_dns.image"),
            (ExternalDnsParams { interval: "often".into(), ..Default::default() }, "external_dns.interval"),
            (
                ExternalDnsParams { txt_owner_id: Some(String::new()), ..Default::default() },
                "external_dns.txt_owner_id",
            ),
        ] {
            let e = ExternalDns::build(&p, &cx("google")).expect_err(want);
            assert_eq!(path_of(&e), want);
        }
    }

    #[test]
    fn bkpr_key_edns_and_full_render() {
        for platform in ["gke", "eks", "aks", "onprem"] {
            let mut s = Stack::new();
            s.platform(platform, "test").expect("platform");
            s.set("config.dns_zone=example.com", false).expect("set");
            s.layer(
                "cluster.yaml",
                SourceKind::File,
                "config:\n  cloud:\n    gcp_project: p\n    aws_region: eu-west-1\nedns:\n  policy: upsert-only\n  txt_owner_id: cluster-a\n",
            )
            .expect("layer");
            let r = s.render(&[&ExternalDns]).unwrap_or_else(|e| panic!("{platform}: {}", e.error()));
            let deploy = r.objects.iter().find(|o| o.kind() == "Deployment").expect("deploy");
            let args = deploy.value["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
            assert!(
                args.contains("--policy=upsert-only") && args.contains("--txt-owner-id=cluster-a"),
                "{platform}: {args}"
            );
        }
        // kind has no DNS: its base switches external-dns off, and switching it back on
        // is an error that names the provider.
        let mut s = Stack::new();
        s.platform("kind", "test").expect("platform");
        // kind's base also sets `elasticsearch`, so that component must be known.
        let comps: [&dyn crate::ErasedComponent; 2] = [&crate::elasticsearch::Elasticsearch, &ExternalDns];
        let r = s.render(&comps).expect("kind renders without external-dns");
        assert!(r.objects.iter().all(|o| o.name() != "external-dns"));
        s.set("platform.components.external_dns=true", false).expect("set");
        let e = s.render(&comps).expect_err("kind has no DNS");
        assert_eq!(e.error().path().map(ToString::to_string).as_deref(), Some("platform.dns_provider"));
    }
}
