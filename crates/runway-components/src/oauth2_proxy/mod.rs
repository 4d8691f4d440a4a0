//! oauth2-proxy: login through the platform's OAuth provider in front of the runtime's UIs
//! (Kibana, Prometheus, Grafana, ...), BKPR's `oauth2_proxy` component on the current
//! upstream image.
//!
//! # How the UIs use it
//!
//! The proxy answers at `https://auth.<dns_zone>` (Ingress `oauth2-ingress`). It
//! publishes its endpoints ([`crate::context::AuthRef`]) and every UI Ingress built by
//! [`crate::common::ingress::ui_ingress`] with `authenticated: true` asks nginx to check
//! each request against `/oauth2/auth` and to send browsers without a session to
//! `/oauth2/start?rd=<the page>`. The session cookie is set for the whole zone
//! (`--cookie-domain`), and only hosts of the zone are accepted as `rd` targets
//! (`--whitelist-domain`), which replaces BKPR's nginx rewrite snippet and keeps the
//! proxy from being an open redirector. Under Traefik (`platform.ingress_controller:
//! traefik`) the `traefik` component's forwardAuth middleware asks the proxy's Service
//! (published as `auth_service`) at `/` instead: the static upstream answers 202 for a
//! session and, with `--skip-provider-button`, redirects anyone else to the login.
//!
//! # Credentials
//!
//! The OAuth client id and secret and the cookie secret live in the Secret `oauth2-proxy`
//! (BKPR's, keys `client_id`, `client_secret`, `cookie_secret`) and reach the proxy as
//! environment variables from it; they are never parameters, never in a ConfigMap. runway
//! renders that Secret when the values are given at render time (`--secrets-file` with an
//! `oauth2_proxy:` block); otherwise it expects the Secret to exist in the namespace and
//! declares it external.
//!
//! # Differences from BKPR
//!
//! - Ingress, Service, HPA and PDB keep BKPR's names and keys (`oauth2-ingress`,
//!   `oauth2-proxy`; `ingress`, `svc`, `hpa`, `pdb`, `deploy`, `secret`). The Deployment
//!   sets no `replicas`: the HorizontalPodAutoscaler owns the count (minimum `replicas`),
//!   so that `kubectl apply` does not reset it. The autoscaler's maximum is 5 (BKPR: 10;
//!   the seed example raises it back with `hpa.spec.maxReplicas`).
//! - The PodDisruptionBudget allows one pod down at a time (BKPR: `minAvailable:
//!   replicas - 1`, which blocked every drain when the autoscaler had added pods).
//! - The upstream image (`quay.io/oauth2-proxy/oauth2-proxy`, distroless, uid 65532)
//!   replaces Bitnami's; `--upstream=static://202` replaces `file:///dev/null`.
//! - An empty `email_domains` never lets any Google, GitHub or Microsoft account in
//!   (BKPR's default `*`): it means the accounts of the cluster's own DNS zone
//!   (`config.dns_zone`), and without a zone it is an error.
//! - Metrics on 44180 with scrape annotations (BKPR had none).

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
    ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec, PodTemplateSpec, Probe, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use runway_core::refs::ExternalRef;
use runway_core::{Error, KeyPath, Object};

pub use self::params::{check_secrets, Oauth2ProxyParams, DEFAULT_IMAGE, SECRET_KEYS};
use crate::common::env;
use crate::common::ingress::{ui_ingress, BackendNeeds, IngressSpecFor};
use crate::common::meta;
use crate::common::metrics::{MetricsEndpoint, Scrape};
use crate::common::pdb::{self, Budget};
use crate::common::pod::container_port as port;
use crate::common::pod::spread_over_nodes;
use crate::common::pod::{container_security, pod_security};
use crate::common::service::{tcp_port, PodService, ServiceKind};
use crate::component::{Component, ObjectDoc};
use crate::context::{AuthRef, Context, Published, ServiceRef};

/// The Deployment, Service, HPA, PDB and Secret (BKPR's name).
pub const NAME: &str = "oauth2-proxy";
/// The Ingress of the auth endpoint (BKPR's name).
pub const INGRESS_NAME: &str = "oauth2-ingress";
/// The host label under the DNS zone: `auth.<dns_zone>`.
pub const HOST_LABEL: &str = "auth";
/// The proxy's HTTP port (BKPR's).
pub const HTTP_PORT: i32 = 4180;
/// The Prometheus metrics port (oauth2-proxy's customary one).
pub const METRICS_PORT: i32 = 44180;
/// The most pods the autoscaler starts.
const MAX_REPLICAS: i32 = 5;
/// The CPU use, relative to the request, the autoscaler keeps pods at.
const TARGET_CPU_PERCENT: i32 = 80;
/// uid and gid of the distroless image's `nonroot` user.
const UID: i64 = 65532;
/// The value of `app.kubernetes.io/component` on every object.
const COMPONENT_LABEL: &str = "oauth2-proxy";
/// The providers runway configures.
const PROVIDERS: [&str; 4] = ["google", "azure", "github", "oidc"];

/// The oauth2-proxy component.
pub struct Oauth2Proxy;

impl Component for Oauth2Proxy {
    const NAME: &'static str = "oauth2_proxy";
    const SUMMARY: &'static str =
        "oauth2-proxy at auth.<dns_zone>: login through the platform's OAuth provider for the runtime's UIs";
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc {
            key: "secret",
            kind: "Secret",
            doc: "oauth2-proxy: client id, client secret, cookie secret (only from `--secrets-file`)",
        },
        ObjectDoc { key: "svc", kind: "Service", doc: "oauth2-proxy: port 4180" },
        ObjectDoc { key: "deploy", kind: "Deployment", doc: "the proxy (replicas owned by the autoscaler)" },
        ObjectDoc {
            key: "podMonitor",
            kind: "PodMonitor",
            doc: "scrapes its `metrics` port (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc { key: "hpa", kind: "HorizontalPodAutoscaler", doc: "`replicas` to 5 pods on CPU" },
        ObjectDoc { key: "pdb", kind: "PodDisruptionBudget", doc: "one pod down at a time" },
        ObjectDoc { key: "ingress", kind: "Ingress", doc: "oauth2-ingress: https://auth.<dns_zone>" },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`oauth2-proxy`: from the ingress controller, to the identity provider",
        },
    ];
    type Params = Oauth2ProxyParams;

    fn publish(_: &Oauth2ProxyParams, cx: &Context, published: &mut Published) {
        if let Some(zone) = &cx.config.dns_zone {
            published.auth = Some(AuthRef {
                auth_url: format!("https://{HOST_LABEL}.{zone}/oauth2/auth"),
                signin_url: format!("https://{HOST_LABEL}.{zone}/oauth2/start?rd=$scheme://$host$escaped_request_uri"),
            });
            published.auth_service =
                Some(ServiceRef { name: NAME.into(), namespace: cx.namespace().into(), port: HTTP_PORT as u16 });
        }
    }

    fn externals(_: &Oauth2ProxyParams, cx: &Context) -> Vec<ExternalRef> {
        if cx.secrets_of(Self::NAME).is_some() {
            Vec::new()
        } else {
            vec![("Secret".to_string(), cx.namespace().to_string(), NAME.to_string())]
        }
    }

    fn network(_: &Oauth2ProxyParams, _: &Context) -> Vec<crate::network::Flows> {
        use crate::network::{tcp, Flows};
        // Its only upstream is `static://202`; nginx reaches it through the Ingress.
        vec![Flows::new("deploy", "networkPolicy").to_internet(
            &[tcp(443)],
            "OAuth/OIDC: the identity provider's token and keys endpoints (keycloak too is reached at its public host)",
        )]
    }

    fn waivers(_: &Oauth2ProxyParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![Waiver::new(
            "deploy",
            Check::SecretsAsEnv,
            "oauth2-proxy reads its client and cookie secrets from OAUTH2_PROXY_* environment variables",
        )]
    }

    fn build(p: &Oauth2ProxyParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let ns = cx.namespace();
        let scrape = scrape(ns);
        let host = cx.host(HOST_LABEL, Self::NAME)?;
        let zone = cx.config.dns_zone.clone().unwrap_or_default();
        let provider_args = provider_args(p, cx)?;
        let mut objects = Vec::new();
        if let Some(values) = cx.secrets_of(Self::NAME) {
            check_secrets(values)?;
            objects.push(Object::new(Self::NAME, "secret", &secret(values, ns)));
        }
        let ingress = ui_ingress(
            &IngressSpecFor {
                name: INGRESS_NAME,
                sub: HOST_LABEL,
                service: NAME,
                port_name: "http",
                authenticated: false,
                component: Self::NAME,
                backend: BackendNeeds::default(),
            },
            cx,
        )?;
        objects.extend([
            Object::new(Self::NAME, "svc", &service(ns)),
            Object::new(Self::NAME, "deploy", &deployment(p, ns, &host, &zone, provider_args, scrape.annotations(cx))),
            Object::new(Self::NAME, "hpa", &autoscaler(p, ns)),
            Object::new(Self::NAME, "pdb", &disruption_budget(ns)),
            Object::new(Self::NAME, "ingress", &ingress),
        ]);
        objects.extend(scrape.monitor(Self::NAME, "podMonitor", cx));
        Ok(objects)
    }
}

/// The provider's flags, from `platform.oauth_provider` and the parameters.
fn provider_args(p: &Oauth2ProxyParams, cx: &Context) -> Result<Vec<String>, Error> {
    let provider = cx.platform.oauth_provider.as_str();
    let mut args = vec![format!("--provider={provider}")];
    // Whether the provider itself limits who has an account (so `*` is safe).
    let restricted = match provider {
        "google" => false,
        "azure" => match &cx.config.cloud.azure_tenant_id {
            Some(tenant) => {
                args.push(format!("--azure-tenant={tenant}"));
                args.push(format!("--oidc-issuer-url=https://login.microsoftonline.com/{tenant}/v2.0"));
                true
            }
            None => false,
        },
        "github" => {
            if let Some(org) = &p.github_org {
                args.push(format!("--github-org={org}"));
            }
            args.extend(p.github_teams.iter().map(|t| format!("--github-team={t}")));
            p.github_org.is_some()
        }
        "oidc" => {
            let Some(url) = p.oidc_issuer_url.as_ref().or(cx.published.oidc_issuer.as_ref()) else {
                return Err(Error::invalid("the `oidc` provider needs the issuer's URL")
                    .with_path(KeyPath::root().key("oauth2_proxy").key("oidc_issuer_url"))
                    .help("set `oauth2_proxy: {oidc_issuer_url: https://id.example.com/realms/runway}` (your identity provider's issuer)"));
            };
            args.push(format!("--oidc-issuer-url={url}"));
            true
        }
        other => {
            return Err(Error::invalid(format!("oauth2-proxy has no provider `{other}` in runway"))
                .with_path(KeyPath::root().key("platform").key("oauth_provider"))
                .help(format!("use one of {}", PROVIDERS.map(|p| format!("`{p}`")).join(", "))));
        }
    };
    args.extend(p.allowed_groups.iter().map(|g| format!("--allowed-group={g}")));
    if p.email_domains.is_empty() && !restricted && cx.config.dns_zone.is_some() {
        // The secure default: only accounts whose address is in the cluster's own zone.
        args.extend(cx.config.dns_zone.iter().map(|z| format!("--email-domain={z}")));
    } else if p.email_domains.is_empty() {
        if !restricted {
            let why = match provider {
                "google" => "any Google account",
                "azure" => "any Microsoft account (no `config.cloud.azure_tenant_id`)",
                _ => "any GitHub account (no `github_org`)",
            };
            return Err(Error::invalid(format!("`email_domains` is empty, which would let {why} log in"))
                .with_path(KeyPath::root().key("oauth2_proxy").key("email_domains"))
                .help("list the domains of your users, e.g. `oauth2_proxy: {email_domains: [example.com]}`, or write `[\"*\"]` to let any account in on purpose"));
        }
        args.push("--email-domain=*".into());
    } else {
        args.extend(p.email_domains.iter().map(|d| format!("--email-domain={d}")));
    }
    Ok(args)
}

fn labels() -> BTreeMap<String, String> {
    meta::labels(NAME, COMPONENT_LABEL)
}

fn secret(values: &BTreeMap<String, String>, ns: &str) -> Secret {
    let data = SECRET_KEYS
        .iter()
        .filter_map(|k| values.get(*k).map(|v| ((*k).to_string(), ByteString(v.trim().as_bytes().to_vec()))))
        .collect();
    Secret {
        metadata: meta::namespaced(NAME, ns, labels()),
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Default::default()
    }
}

fn service(ns: &str) -> Service {
    PodService {
        kind: ServiceKind::ClusterIp,
        selector: meta::selector_labels(NAME),
        ports: vec![tcp_port("http", HTTP_PORT, "http")],
    }
    .build(meta::namespaced(NAME, ns, labels()))
}

/// `name` from the key `key` of the Secret `oauth2-proxy`.
fn secret_env(name: &str, key: &str) -> EnvVar {
    env::secret_env(name, NAME, key)
}

fn http_probe(path: &str) -> Probe {
    crate::common::probes::http(path, "http", 10, 2, 3)
}

fn container(p: &Oauth2ProxyParams, host: &str, zone: &str, provider_args: Vec<String>) -> Container {
    let mut args = vec![
        format!("--http-address=0.0.0.0:{HTTP_PORT}"),
        format!("--metrics-address=0.0.0.0:{METRICS_PORT}"),
        // Auth only: nginx asks `/oauth2/auth`; there is nothing to proxy to.
        "--upstream=static://202".into(),
        // Behind the ingress controller: trust its X-Forwarded-* headers.
        "--reverse-proxy=true".into(),
        "--set-xauthrequest=true".into(),
        "--skip-provider-button=true".into(),
        "--silence-ping-logging=true".into(),
        format!("--redirect-url=https://{host}/oauth2/callback"),
        // One login for every UI of the zone; redirects only back into the zone.
        format!("--cookie-domain=.{zone}"),
        format!("--whitelist-domain=.{zone}"),
        "--cookie-secure=true".into(),
        format!("--cookie-refresh={}", p.cookie_refresh),
        format!("--cookie-expire={}", p.cookie_expire),
    ];
    args.extend(provider_args);
    Container {
        name: "oauth2-proxy".into(),
        image: Some(p.image.clone()),
        args: Some(args),
        env: Some(vec![
            secret_env("OAUTH2_PROXY_CLIENT_ID", "client_id"),
            secret_env("OAUTH2_PROXY_CLIENT_SECRET", "client_secret"),
            secret_env("OAUTH2_PROXY_COOKIE_SECRET", "cookie_secret"),
        ]),
        ports: Some(vec![port("http", HTTP_PORT), port("metrics", METRICS_PORT)]),
        readiness_probe: Some(http_probe("/ready")),
        liveness_probe: Some(Probe { initial_delay_seconds: Some(10), ..http_probe("/ping") }),
        resources: Some(p.resources.to_k8s()),
        security_context: Some(container_security(true)),
        ..Default::default()
    }
}

/// oauth2-proxy's metrics (`metrics` port, 44180).
pub fn scrape(ns: &str) -> Scrape {
    Scrape::pods(COMPONENT_LABEL, NAME, ns, meta::selector_labels(NAME), MetricsEndpoint::new("metrics", METRICS_PORT))
}

fn deployment(
    p: &Oauth2ProxyParams,
    ns: &str,
    host: &str,
    zone: &str,
    provider_args: Vec<String>,
    annotations: BTreeMap<String, String>,
) -> Deployment {
    let selector = meta::selector(meta::selector_labels(NAME));
    let mut template_labels = labels();
    template_labels.extend(meta::selector_labels(NAME));
    Deployment {
        metadata: meta::namespaced(NAME, ns, labels()),
        spec: Some(DeploymentSpec {
            // No `replicas`: the HorizontalPodAutoscaler owns the count.
            selector: selector.clone(),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels),
                    annotations: Some(annotations),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    // It talks to the OAuth provider only, never to the API.
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    security_context: Some(pod_security(UID, UID, UID)),
                    // BKPR's weak node diversity: spread over nodes when possible.
                    affinity: Some(spread_over_nodes(&selector, 70)),
                    containers: vec![container(p, host, zone, provider_args)],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn autoscaler(p: &Oauth2ProxyParams, ns: &str) -> HorizontalPodAutoscaler {
    // Invariant: validated to be at most 100.
    let min = i32::try_from(p.replicas).unwrap_or(MAX_REPLICAS);
    HorizontalPodAutoscaler {
        metadata: meta::namespaced(NAME, ns, labels()),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: NAME.into(),
            },
            min_replicas: Some(min),
            max_replicas: MAX_REPLICAS.max(min),
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(TARGET_CPU_PERCENT),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn disruption_budget(ns: &str) -> PodDisruptionBudget {
    pdb::disruption_budget(
        meta::namespaced(NAME, ns, labels()),
        Budget::MaxUnavailable(1),
        meta::selector(meta::selector_labels(NAME)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::ingress::CLUSTER_ISSUER_ANNOTATION;
    use crate::common::testing::{find, path_of};
    use crate::stack::Stack;
    use runway_core::SourceKind;

    const COOKIE: &str = "b3VyLWNvb2tpZS1zZWNyZXQtb2YtMzItYnl0ZXMhISE"; // 32 bytes, base64url, unpadded

    fn cx(provider: &str) -> Context {
        let mut cx = Context::default();
        cx.config.dns_zone = Some("example.com".into());
        cx.platform.oauth_provider = provider.into();
        cx.published.tls_issuer = Some("letsencrypt-prod".into());
        cx
    }

    fn domains() -> Oauth2ProxyParams {
        Oauth2ProxyParams { email_domains: vec!["example.com".into()], ..Default::default() }
    }

    fn args_of(objects: &[Object]) -> Vec<String> {
        let args = &find(objects, "deploy").value["spec"]["template"]["spec"]["containers"][0]["args"];
        args.as_array().into_iter().flatten().filter_map(|a| a.as_str().map(str::to_string)).collect()
    }

    fn secrets(cookie: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("client_id".to_string(), "id-123".to_string()),
            ("client_secret".to_string(), "s3cr3t".to_string()),
            ("cookie_secret".to_string(), cookie.to_string()),
        ])
    }

    #[test]
    fn default_build_has_bkpr_names_and_keys() {
        let objects = Oauth2Proxy::build(&domains(), &cx("google")).expect("builds");
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("svc", "Service", "oauth2-proxy"),
                ("deploy", "Deployment", "oauth2-proxy"),
                ("hpa", "HorizontalPodAutoscaler", "oauth2-proxy"),
                ("pdb", "PodDisruptionBudget", "oauth2-proxy"),
                ("ingress", "Ingress", "oauth2-ingress"),
            ]
        );
        for o in &objects {
            assert_eq!(o.namespace(), "kubeprod");
            assert!(["v1", "apps/v1", "autoscaling/v2", "policy/v1", "networking.k8s.io/v1"].contains(&o.api_version()));
        }
        let hpa = &find(&objects, "hpa").value["spec"];
        assert_eq!(hpa["minReplicas"], 2);
        assert_eq!(hpa["maxReplicas"], 5);
        assert_eq!(
            hpa["scaleTargetRef"],
            serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "oauth2-proxy"})
        );
        assert!(find(&objects, "deploy").value["spec"].get("replicas").is_none(), "the autoscaler owns replicas");
        assert_eq!(find(&objects, "pdb").value["spec"]["maxUnavailable"], 1);
    }

    #[test]
    fn every_object_round_trips() {
        let mut cx = cx("oidc");
        cx.secrets.insert("oauth2_proxy".into(), secrets(COOKIE));
        let p = Oauth2ProxyParams {
            oidc_issuer_url: Some("https://id.example.com/realms/runway".into()),
            ..Default::default()
        };
        for mut o in Oauth2Proxy::build(&p, &cx).expect("builds") {
            let before = o.value.clone();
            o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
            assert_eq!(before, o.value, "{} changed in the round trip", o.key);
        }
    }

    #[test]
    fn ingress_serves_auth_zone_with_tls_and_no_auth_loop() {
        let objects = Oauth2Proxy::build(&domains(), &cx("google")).expect("builds");
        let ing = &find(&objects, "ingress").value;
        assert_eq!(ing["spec"]["rules"][0]["host"], "auth.example.com");
        assert_eq!(ing["spec"]["tls"][0]["secretName"], "oauth2-ingress-tls");
        assert_eq!(ing["metadata"]["annotations"][CLUSTER_ISSUER_ANNOTATION], "letsencrypt-prod");
        assert!(ing["metadata"]["annotations"].get("nginx.ingress.kubernetes.io/auth-url").is_none());
        let backend = &ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
        assert_eq!(backend["name"], "oauth2-proxy");
        assert_eq!(backend["port"]["name"], "http");
        let args = args_of(&objects);
        for want in [
            "--http-address=0.0.0.0:4180",
            "--redirect-url=https://auth.example.com/oauth2/callback",
            "--cookie-domain=.example.com",
            "--whitelist-domain=.example.com",
            "--provider=google",
            "--email-domain=example.com",
            "--reverse-proxy=true",
        ] {
            assert!(args.iter().any(|a| a == want), "{want} not in {args:?}");
        }
    }

    #[test]
    fn publishes_auth_endpoints_only_with_a_dns_zone() {
        let mut published = Published::default();
        Oauth2Proxy::publish(&domains(), &cx("google"), &mut published);
        let auth = published.auth.expect("published");
        assert_eq!(auth.auth_url, "https://auth.example.com/oauth2/auth");
        assert_eq!(auth.signin_url, "https://auth.example.com/oauth2/start?rd=$scheme://$host$escaped_request_uri");
        let service = published.auth_service.expect("the in-cluster Service, for Traefik's forwardAuth");
        assert_eq!(service.http_url(), "http://oauth2-proxy.kubeprod.svc:4180");
        let mut no_zone = cx("google");
        no_zone.config.dns_zone = None;
        let mut published = Published::default();
        Oauth2Proxy::publish(&domains(), &no_zone, &mut published);
        assert!(published.auth.is_none() && published.auth_service.is_none());
        let e = Oauth2Proxy::build(&domains(), &no_zone).expect_err("needs a zone");
        assert_eq!(path_of(&e), "config.dns_zone");
    }

    #[test]
    fn credentials_come_from_the_secret_never_from_args() {
        let objects = Oauth2Proxy::build(&domains(), &cx("google")).expect("builds");
        assert!(objects.iter().all(|o| o.kind() != "Secret" && o.kind() != "ConfigMap"));
        let c = &find(&objects, "deploy").value["spec"]["template"]["spec"]["containers"][0];
        for (var, key) in [
            ("OAUTH2_PROXY_CLIENT_ID", "client_id"),
            ("OAUTH2_PROXY_CLIENT_SECRET", "client_secret"),
            ("OAUTH2_PROXY_COOKIE_SECRET", "cookie_secret"),
        ] {
            let env = c["env"].as_array().into_iter().flatten().find(|e| e["name"] == var).expect(var);
            assert_eq!(env["valueFrom"]["secretKeyRef"], serde_json::json!({"name": "oauth2-proxy", "key": key}));
        }
        assert_eq!(
            Oauth2Proxy::externals(&domains(), &cx("google")),
            vec![("Secret".to_string(), "kubeprod".to_string(), "oauth2-proxy".to_string())]
        );
    }

    #[test]
    fn secrets_file_renders_the_secret() {
        let mut cx = cx("google");
        cx.secrets.insert("oauth2_proxy".into(), secrets(COOKIE));
        assert!(Oauth2Proxy::externals(&domains(), &cx).is_empty());
        let objects = Oauth2Proxy::build(&domains(), &cx).expect("builds");
        let s = &find(&objects, "secret").value;
        assert_eq!(s["metadata"]["name"], "oauth2-proxy");
        assert_eq!(s["data"]["client_id"], "aWQtMTIz"); // base64 of id-123
        let keys: Vec<&String> = s["data"].as_object().expect("data").keys().collect();
        assert_eq!(keys, ["client_id", "client_secret", "cookie_secret"]);
        // No value shows up anywhere else.
        for o in objects.iter().filter(|o| o.key != "secret") {
            assert!(!o.value.to_string().contains("s3cr3t"), "{}", o.key);
        }
    }

    #[test]
    fn cookie_secret_must_be_16_24_or_32_bytes() {
        for ok in [
            "0123456789abcdef",
            "0123456789abcdef01234567",
            "0123456789abcdef0123456789abcdef",
            COOKIE,
            "b3VyLWNvb2tpZS1zZWNyZXQtb2YtMzItYnl0ZXMhISE=",
        ] {
            assert!(check_secrets(&secrets(ok)).is_ok(), "{ok}");
        }
        for bad in ["short", "0123456789abcdef0", "b3VyLWNvb2tpZS1zZWNyZXQtb2YtMzItYnl0ZXMhISE+x"] {
            let e = check_secrets(&secrets(bad)).expect_err(bad);
            assert!(e.to_string().contains("16, 24 or 32"), "{e}");
            assert!(!e.to_string().contains(bad), "the message must not print the value");
            assert!(e.helps().iter().any(|h| h.contains("openssl rand")), "{:?}", e.helps());
        }
    }

    #[test]
    fn incomplete_or_unknown_secrets_are_errors() {
        let mut s = secrets(COOKIE);
        s.remove("client_secret");
        assert!(check_secrets(&s)
            .expect_err("missing")
            .to_string()
            .contains("`oauth2_proxy.client_secret` is missing"));
        let mut s = secrets(COOKIE);
        s.insert("cookie_secrt".into(), "x".into());
        let e = check_secrets(&s).expect_err("unknown");
        assert!(e.helps().iter().any(|h| h.contains("cookie_secret")), "{:?}", e.helps());
    }

    #[test]
    fn providers_get_their_flags() {
        let oidc = Oauth2ProxyParams {
            oidc_issuer_url: Some("https://id.example.com/realms/runway".into()),
            allowed_groups: vec!["admins".into()],
            ..Default::default()
        };
        let args = args_of(&Oauth2Proxy::build(&oidc, &cx("oidc")).expect("oidc"));
        assert!(args.contains(&"--provider=oidc".to_string()));
        assert!(args.contains(&"--oidc-issuer-url=https://id.example.com/realms/runway".to_string()));
        assert!(args.contains(&"--allowed-group=admins".to_string()));
        assert!(args.contains(&"--email-domain=*".to_string()), "the identity provider decides who has an account");

        let github = Oauth2ProxyParams {
            github_org: Some("acme".into()),
            github_teams: vec!["ops".into()],
            ..Default::default()
        };
        let args = args_of(&Oauth2Proxy::build(&github, &cx("github")).expect("github"));
        assert!(args.contains(&"--github-org=acme".to_string()) && args.contains(&"--github-team=ops".to_string()));

        let mut azure = cx("azure");
        azure.config.cloud.azure_tenant_id = Some("tenant-1".into());
        let args = args_of(&Oauth2Proxy::build(&Oauth2ProxyParams::default(), &azure).expect("azure"));
        assert!(args.contains(&"--azure-tenant=tenant-1".to_string()));
    }

    #[test]
    fn open_providers_default_to_the_zone_s_email_domain() {
        // Never "any Google, GitHub or Microsoft account": empty means the cluster's zone.
        for provider in ["google", "github", "azure"] {
            let c = cx(provider);
            let zone = c.config.dns_zone.clone().expect("the test context has a zone");
            let args = args_of(&Oauth2Proxy::build(&Oauth2ProxyParams::default(), &c).expect(provider));
            assert!(args.contains(&format!("--email-domain={zone}")), "{provider}: {args:?}");
            assert!(!args.contains(&"--email-domain=*".to_string()), "{provider}");
        }
        // `*` on purpose is allowed.
        let star = Oauth2ProxyParams { email_domains: vec!["*".into()], ..Default::default() };
        assert!(
            args_of(&Oauth2Proxy::build(&star, &cx("google")).expect("star")).contains(&"--email-domain=*".to_string())
        );
    }

    #[test]
    fn oidc_without_issuer_and_unknown_provider_are_errors() {
        let e = Oauth2Proxy::build(&Oauth2ProxyParams::default(), &cx("oidc")).expect_err("issuer");
        assert_eq!(path_of(&e), "oauth2_proxy.oidc_issuer_url");
        let e = Oauth2Proxy::build(&domains(), &cx("okta")).expect_err("provider");
        assert_eq!(path_of(&e), "platform.oauth_provider");
        assert!(e.helps().iter().any(|h| h.contains("`oidc`")), "{:?}", e.helps());
    }

    #[test]
    fn bad_parameters_are_errors_with_their_path() {
        let cases = [
            (Oauth2ProxyParams { replicas: 0, ..domains() }, "oauth2_proxy.replicas"),
            (Oauth2ProxyParams { image: String::new(), ..domains() }, "oauth2_proxy.image"),
            (Oauth2ProxyParams { email_domains: vec!["a@b.com".into()], ..domains() }, "oauth2_proxy.email_domains"),
            (
                Oauth2ProxyParams { oidc_issuer_url: Some("http://id".into()), ..domains() },
                "oauth2_proxy.oidc_issuer_url",
            ),
            (Oauth2ProxyParams { github_teams: vec!["ops".into()], ..domains() }, "oauth2_proxy.github_teams"),
            (Oauth2ProxyParams { cookie_refresh: "1 hour".into(), ..domains() }, "oauth2_proxy.cookie_refresh"),
            (Oauth2ProxyParams { cookie_refresh: "200h".into(), ..domains() }, "oauth2_proxy.cookie_refresh"),
            (Oauth2ProxyParams { cookie_expire: "0".into(), ..domains() }, "oauth2_proxy.cookie_expire"),
        ];
        for (p, want) in cases {
            let e = Oauth2Proxy::build(&p, &cx("google")).expect_err(want);
            assert_eq!(path_of(&e), want);
            assert!(!e.helps().is_empty(), "{want}");
        }
    }

    #[test]
    fn pod_is_locked_down_and_scraped() {
        let objects = Oauth2Proxy::build(&domains(), &cx("google")).expect("builds");
        let tpl = &find(&objects, "deploy").value["spec"]["template"];
        assert_eq!(tpl["metadata"]["annotations"]["prometheus.io/port"], "44180");
        assert_eq!(tpl["metadata"]["annotations"]["prometheus.io/scrape"], "true");
        let pod = &tpl["spec"];
        assert_eq!(pod["automountServiceAccountToken"], false);
        assert_eq!(pod["securityContext"]["runAsUser"], 65532);
        let c = &pod["containers"][0];
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert!(c["resources"]["limits"]["memory"].is_string() && c["resources"]["requests"]["cpu"].is_string());
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/ready");
        // Service and PDB select the pods.
        let labels = tpl["metadata"]["labels"].as_object().expect("labels");
        for sel in [
            &find(&objects, "svc").value["spec"]["selector"],
            &find(&objects, "pdb").value["spec"]["selector"]["matchLabels"],
        ] {
            let sel = sel.as_object().expect("selector");
            assert!(!sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v)));
        }
    }

    fn stack() -> Stack {
        let mut s = Stack::new();
        s.platform("gke", "test").expect("gke platform");
        s.set("config.dns_zone=example.com", false).expect("set");
        s.layer("users.yaml", SourceKind::File, "oauth2_proxy:\n  email_domains: [example.com]\n").expect("layer");
        s
    }

    #[test]
    fn full_render_with_secrets_file_passes_reference_checks() {
        let mut s = stack();
        s.secrets(
            "secrets.yaml",
            &format!("oauth2_proxy:\n  client_id: id\n  client_secret: sec\n  cookie_secret: \"{COOKIE}\"\n"),
        )
        .expect("secrets");
        let r = s.render(&[&Oauth2Proxy]).unwrap_or_else(|e| panic!("{}", e.error()));
        assert!(r.objects.iter().any(|o| o.kind() == "Secret" && o.name() == "oauth2-proxy"));
        // Without the secrets file the Secret is external and the render still holds.
        let r = stack().render(&[&Oauth2Proxy]).unwrap_or_else(|e| panic!("{}", e.error()));
        assert!(r.objects.iter().all(|o| o.kind() != "Secret"));
    }

    #[test]
    fn seed_override_raises_max_replicas() {
        // BKPR's "Override maximum number of replicas" example, from overrides/.
        let text = include_str!("../../../../overrides/oauth2_proxy-max-replicas.yaml");
        let mut s = stack();
        s.layer("overrides/oauth2_proxy-max-replicas.yaml", SourceKind::File, text).expect("parses");
        let r = s.render(&[&Oauth2Proxy]).unwrap_or_else(|e| panic!("{}", e.error()));
        let hpa = r.objects.iter().find(|o| o.kind() == "HorizontalPodAutoscaler").expect("hpa");
        assert_eq!(hpa.value["spec"]["maxReplicas"], 10);
        assert_eq!(hpa.value["spec"]["minReplicas"], 2, "the rest of the spec is kept");
    }
}
