//! Kibana, the UI of the logging Elasticsearch: BKPR's `kibana` component rebuilt on
//! Elastic's official image, at the version of the elasticsearch component.
//!
//! It reads Elasticsearch through the client Service the `elasticsearch` component
//! publishes (rendering `kibana` without it is an error, as BKPR's `es: error
//! "elasticsearch is required"` was), and is published at `https://kibana.<dns_zone>` by
//! the Ingress `kibana-logging`: TLS from cert-manager, and login through oauth2-proxy,
//! because neither Kibana nor Elasticsearch authenticate users here.
//!
//! # Adopting a BKPR install in place
//!
//! The Deployment `kibana` keeps BKPR's immutable selector (`name: kibana`) and container
//! name, the Service and Ingress keep the name `kibana-logging` and the port 5601, and the
//! object keys (`serviceAccount`, `deploy`, `svc`, `ingress`) are BKPR's. New: the
//! ConfigMap `kibana` (key `config`) holding `kibana.yml`, which replaces Bitnami's
//! `KIBANA_*` environment variables. The Service's port gets a name (`ui`, BKPR's
//! container port name) for the Ingress to refer to. Kibana 8 migrates the saved objects
//! (index patterns, dashboards) it finds in `.kibana` from 7.x on its first start.
//!
//! # Security
//!
//! Kibana runs as the image's user (uid 1000, gid 0) with all capabilities dropped,
//! RuntimeDefault seccomp, a read-only root filesystem (its data directory, logs and
//! `/tmp` are emptyDirs, as Elastic's own operator does it) and no API token. It meets
//! the `restricted` Pod Security Standard.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, PodSpec, PodTemplateSpec, Probe, Service,
    ServiceAccount, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use runway_core::{Error, KeyPath, Object};
use serde::Serialize;

pub use self::params::{KibanaParams, DEFAULT_IMAGE};
use crate::common::checksum::sha256_hex;
use crate::common::ingress::{ingress_object, BackendNeeds, IngressSpecFor};
use crate::common::meta;
use crate::common::pod::{container_security, pod_security};
use crate::common::pod::{empty_dir, mount};
use crate::common::rbac;
use crate::common::service::{tcp_port, PodService, ServiceKind};
use crate::common::template::render_template;
use crate::component::{Component, ObjectDoc};
use crate::context::{Context, ServiceRef};

/// The Deployment, its ServiceAccount and ConfigMap (BKPR's Deployment name).
pub const NAME: &str = "kibana";
/// The Service and Ingress (BKPR's).
pub const SERVICE: &str = "kibana-logging";
/// Kibana's HTTP port.
pub const PORT: i32 = 5601;
/// The name of the port, on the container (BKPR's) and on the Service.
pub const PORT_NAME: &str = "ui";
/// The host label under the DNS zone: `kibana.<dns_zone>`.
pub const HOST_LABEL: &str = "kibana";

/// The value of `app.kubernetes.io/component` on every object.
const COMPONENT_LABEL: &str = "kibana";
const KIBANA_HOME: &str = "/usr/share/kibana";
const CONFIG_KEY: &str = "kibana.yml";
/// uid and gid of the official image (gid 0, as OpenShift expects).
const KIBANA_UID: i64 = 1000;
const KIBANA_GID: i64 = 0;

const KIBANA_CONFIG_TEMPLATE: &str = include_str!("templates/kibana.yml.j2");

/// The Kibana component.
pub struct Kibana;

impl Component for Kibana {
    const NAME: &'static str = "kibana";
    const SUMMARY: &'static str = "Kibana for the logging Elasticsearch, at kibana.<dns_zone> behind oauth2-proxy";
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc { key: "serviceAccount", kind: "ServiceAccount", doc: "the pods' identity; no API token mounted" },
        ObjectDoc { key: "config", kind: "ConfigMap", doc: "`kibana`: kibana.yml" },
        ObjectDoc { key: "svc", kind: "Service", doc: "`kibana-logging`: port 5601 (`ui`)" },
        ObjectDoc { key: "deploy", kind: "Deployment", doc: "`kibana`" },
        ObjectDoc {
            key: "ingress",
            kind: "Ingress",
            doc: "`kibana-logging` at kibana.<dns_zone>: TLS from cert-manager, login through oauth2-proxy",
        },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`kibana`: to Elasticsearch; from the ingress controller",
        },
    ];
    type Params = KibanaParams;

    fn network(_: &KibanaParams, cx: &Context) -> Vec<crate::network::Flows> {
        use crate::network::Flows;
        let mut f = Flows::new("deploy", "networkPolicy");
        if let Some(es) = &cx.published.elasticsearch {
            f = f.to_service(es);
        }
        vec![f]
    }

    fn waivers(_: &KibanaParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![Waiver::new("deploy", Check::HighUid, "the image's files under /usr/share/kibana belong to uid 1000")]
    }

    fn build(p: &KibanaParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let es = elasticsearch_of(cx)?;
        let ns = cx.namespace();
        let config = render_config(cx, es)?;
        let checksum = sha256_hex(&config);
        let ingress = ingress_object(
            "ingress",
            &IngressSpecFor {
                name: SERVICE,
                sub: HOST_LABEL,
                service: SERVICE,
                port_name: PORT_NAME,
                authenticated: true,
                component: Self::NAME,
                backend: BackendNeeds::default(),
            },
            cx,
        )?;
        let mut objects = vec![
            Object::new(Self::NAME, "serviceAccount", &service_account(ns)),
            Object::new(Self::NAME, "config", &config_map(ns, config)),
            Object::new(Self::NAME, "svc", &service(ns)),
            Object::new(Self::NAME, "deploy", &deployment(p, ns, &checksum)?),
        ];
        objects.extend(ingress);
        Ok(objects)
    }
}

/// The Elasticsearch Service to read, or BKPR's "elasticsearch is required" as an error
/// that says what to do.
fn elasticsearch_of(cx: &Context) -> Result<&ServiceRef, Error> {
    cx.published.elasticsearch.as_ref().ok_or_else(|| {
        Error::invalid("`kibana` reads Elasticsearch, but `elasticsearch` is not rendered")
            .help("render `elasticsearch` too (add it to the stack's `components:`), or leave `kibana` out")
            .note("BKPR's kibana had the same requirement (`es: error \"elasticsearch is required\"`)")
            .with_path(KeyPath::root().key(Kibana::NAME))
    })
}

fn labels(name: &str) -> BTreeMap<String, String> {
    meta::labels(name, COMPONENT_LABEL)
}

#[derive(Serialize)]
struct ConfigContext<'a> {
    name: &'a str,
    port: i32,
    public_base_url: Option<String>,
    es_url: String,
    data_dir: String,
}

fn render_config(cx: &Context, es: &ServiceRef) -> Result<String, Error> {
    let ctx = ConfigContext {
        name: NAME,
        port: PORT,
        public_base_url: cx.config.dns_zone.as_ref().map(|zone| format!("https://{HOST_LABEL}.{zone}")),
        es_url: es.http_url(),
        data_dir: format!("{KIBANA_HOME}/data"),
    };
    render_template("kibana.yml.j2", KIBANA_CONFIG_TEMPLATE, ctx)
}

/// No API token: Kibana talks to Elasticsearch only.
fn service_account(ns: &str) -> ServiceAccount {
    rbac::service_account(meta::namespaced(NAME, ns, labels(NAME)), Some(false))
}

fn config_map(ns: &str, config: String) -> ConfigMap {
    ConfigMap {
        metadata: meta::namespaced(NAME, ns, labels(NAME)),
        data: Some(BTreeMap::from([(CONFIG_KEY.to_string(), config)])),
        ..Default::default()
    }
}

/// BKPR's `kibana-logging`, selecting the pods by BKPR's label (`name: kibana`).
fn service(ns: &str) -> Service {
    PodService {
        kind: ServiceKind::ClusterIp,
        selector: meta::selector_labels(NAME),
        ports: vec![tcp_port(PORT_NAME, PORT, PORT_NAME)],
    }
    .build(meta::namespaced(SERVICE, ns, labels(SERVICE)))
}

fn tcp_probe(period: i32, failures: i32) -> Probe {
    crate::common::probes::tcp(PORT_NAME, period, 5, failures)
}

fn kibana_container(p: &KibanaParams) -> Container {
    Container {
        name: NAME.into(),
        image: Some(p.image.clone()),
        ports: Some(vec![ContainerPort {
            name: Some(PORT_NAME.into()),
            container_port: PORT,
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        resources: Some(p.resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "config".into(),
                mount_path: format!("{KIBANA_HOME}/config/{CONFIG_KEY}"),
                sub_path: Some(CONFIG_KEY.into()),
                read_only: Some(true),
                ..Default::default()
            },
            mount("data", &format!("{KIBANA_HOME}/data")),
            mount("logs", &format!("{KIBANA_HOME}/logs")),
            mount("tmp", "/tmp"),
        ]),
        // Startup includes saved-object migrations after an upgrade: up to 10 minutes
        // before liveness starts counting.
        startup_probe: Some(tcp_probe(10, 60)),
        // Ready when Kibana reports itself available: /api/status answers 503 until its
        // plugins are up and while Elasticsearch is unreachable.
        readiness_probe: Some(crate::common::probes::http("/api/status", PORT_NAME, 10, 5, 3)),
        // Alive while it accepts connections: /api/status would also fail when
        // Elasticsearch is down, and restarting Kibana would not bring it back.
        liveness_probe: Some(tcp_probe(20, 5)),
        ..Default::default()
    }
}

fn deployment(p: &KibanaParams, ns: &str, checksum: &str) -> Result<Deployment, Error> {
    let replicas = i32::try_from(p.replicas).map_err(|_| Error::invalid("replicas is too large"))?;
    let pod = PodSpec {
        service_account_name: Some(NAME.into()),
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(KIBANA_UID, KIBANA_GID, KIBANA_UID)),
        containers: vec![kibana_container(p)],
        volumes: Some(vec![
            Volume {
                name: "config".into(),
                config_map: Some(ConfigMapVolumeSource { name: NAME.into(), ..Default::default() }),
                ..Default::default()
            },
            empty_dir("data"),
            empty_dir("logs"),
            empty_dir("tmp"),
        ]),
        ..Default::default()
    };
    Ok(Deployment {
        metadata: meta::namespaced(NAME, ns, labels(NAME)),
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: meta::selector(meta::selector_labels(NAME)),
            // An upgrade migrates the saved objects in Elasticsearch, which Elastic
            // requires no older Kibana to be running during: stop all, then start.
            strategy: Some(DeploymentStrategy { type_: Some("Recreate".into()), ..Default::default() }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(NAME)),
                    annotations: Some(BTreeMap::from([
                        ("checksum/config".to_string(), checksum.to_string()),
                        ("kubectl.kubernetes.io/default-container".to_string(), NAME.to_string()),
                    ])),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::pod::Resources;
    use crate::common::testing;
    use crate::common::testing::{find, path_of};
    use crate::context::{AuthRef, Published};
    use crate::elasticsearch::{Elasticsearch, CLIENT_SERVICE, DEFAULT_IMAGE as ES_IMAGE};
    use crate::quantity::Quantity;
    use crate::stack::Stack;

    fn cx() -> Context {
        let mut cx = Context::default();
        cx.config.dns_zone = Some("example.com".into());
        cx.published.elasticsearch =
            Some(ServiceRef { name: CLIENT_SERVICE.into(), namespace: "kubeprod".into(), port: 9200 });
        cx.published.tls_issuer = Some("letsencrypt-prod".into());
        cx.published.auth = Some(AuthRef {
            auth_url: "https://auth.example.com/oauth2/auth".into(),
            signin_url: "https://auth.example.com/oauth2/start?rd=$scheme://$host$request_uri".into(),
        });
        cx
    }

    fn build(p: &KibanaParams) -> Vec<Object> {
        Kibana::build(p, &cx()).expect("parameters build")
    }

    fn with(f: impl FnOnce(&mut KibanaParams)) -> KibanaParams {
        testing::with(f)
    }

    fn config(objects: &[Object]) -> String {
        find(objects, "config").value["data"]["kibana.yml"].as_str().unwrap_or("").to_string()
    }

    #[test]
    fn default_build_has_bkpr_names_and_keys() {
        let objects = build(&KibanaParams::default());
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("serviceAccount", "ServiceAccount", "kibana"),
                ("config", "ConfigMap", "kibana"),
                ("svc", "Service", "kibana-logging"),
                ("deploy", "Deployment", "kibana"),
                ("ingress", "Ingress", "kibana-logging"),
            ]
        );
        for o in &objects {
            assert_eq!(o.namespace(), "kubeprod", "{}", o.key);
            assert!(["v1", "apps/v1", "networking.k8s.io/v1"].contains(&o.api_version()), "{}", o.key);
            assert_eq!(o.value["metadata"]["labels"]["app.kubernetes.io/component"], "kibana", "{}", o.key);
            assert!(Kibana::OBJECTS.iter().any(|d| d.key == o.key && d.kind == o.kind()), "{} undocumented", o.key);
        }
        let deploy = &find(&objects, "deploy").value["spec"];
        assert_eq!(deploy["replicas"], 1);
        assert_eq!(deploy["selector"]["matchLabels"], serde_json::json!({"name": "kibana"}));
        assert_eq!(deploy["strategy"]["type"], "Recreate");
        let c = &deploy["template"]["spec"]["containers"][0];
        assert_eq!(c["name"], "kibana");
        assert_eq!(c["image"], DEFAULT_IMAGE);
        assert_eq!(c["ports"][0], serde_json::json!({"name": "ui", "containerPort": 5601, "protocol": "TCP"}));
        let svc = &find(&objects, "svc").value["spec"];
        assert_eq!(
            svc["ports"],
            serde_json::json!([{"name": "ui", "port": 5601, "targetPort": "ui", "protocol": "TCP"}])
        );
    }

    #[test]
    fn image_version_matches_elasticsearch() {
        let tag = |image: &str| image.rsplit_once(':').map(|(_, t)| t.to_string()).unwrap_or_default();
        assert_eq!(tag(DEFAULT_IMAGE), tag(ES_IMAGE));
        assert!(DEFAULT_IMAGE.starts_with("docker.elastic.co/kibana/kibana:"));
    }

    #[test]
    fn service_selects_the_deployment_pods() {
        let objects = build(&KibanaParams::default());
        let pod_labels = find(&objects, "deploy").value["spec"]["template"]["metadata"]["labels"]
            .as_object()
            .cloned()
            .expect("pod labels");
        for selector in [
            &find(&objects, "svc").value["spec"]["selector"],
            &find(&objects, "deploy").value["spec"]["selector"]["matchLabels"],
        ] {
            let sel = selector.as_object().expect("a selector");
            assert!(!sel.is_empty() && sel.iter().all(|(k, v)| pod_labels.get(k) == Some(v)), "{selector}");
        }
    }

    #[test]
    fn ingress_is_tls_and_authenticated_at_kibana_host() {
        let objects = build(&KibanaParams::default());
        let ing = &find(&objects, "ingress").value;
        assert_eq!(ing["spec"]["rules"][0]["host"], "kibana.example.com");
        assert_eq!(
            ing["spec"]["tls"][0],
            serde_json::json!({"hosts": ["kibana.example.com"], "secretName": "kibana-logging-tls"})
        );
        let backend = &ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
        assert_eq!(backend, &serde_json::json!({"name": "kibana-logging", "port": {"name": "ui"}}));
        let annotations = &ing["metadata"]["annotations"];
        assert_eq!(annotations["nginx.ingress.kubernetes.io/auth-url"], "https://auth.example.com/oauth2/auth");
        assert_eq!(annotations["cert-manager.io/cluster-issuer"], "letsencrypt-prod");
    }

    #[test]
    fn config_reads_the_published_elasticsearch() {
        let mut cx = cx();
        cx.published.elasticsearch = Some(ServiceRef { name: "es".into(), namespace: "logs".into(), port: 9201 });
        let objects = Kibana::build(&KibanaParams::default(), &cx).expect("builds");
        let text = config(&objects);
        assert!(text.contains("elasticsearch.hosts: [\"http://es.logs.svc:9201\"]\n"), "{text}");
        assert!(text.contains("server.publicBaseUrl: \"https://kibana.example.com\"\n"), "{text}");
        assert!(text.contains("server.port: 5601\n"), "{text}");
        assert!(text.contains("path.data: \"/usr/share/kibana/data\"\n"), "{text}");
        assert!(!text.contains("{{") && !text.contains("{%"), "{text}");
    }

    #[test]
    fn missing_elasticsearch_is_an_error_with_help() {
        let mut cx = cx();
        cx.published = Published { elasticsearch: None, ..cx.published };
        let e = Kibana::build(&KibanaParams::default(), &cx).expect_err("needs elasticsearch");
        assert!(e.to_string().contains("`elasticsearch` is not rendered"), "{e}");
        assert_eq!(path_of(&e), "kibana");
        assert!(e.helps().iter().any(|h| h.contains("render `elasticsearch` too")), "{:?}", e.helps());
    }

    #[test]
    fn missing_auth_or_dns_zone_is_an_error() {
        let mut no_auth = cx();
        no_auth.published.auth = None;
        let e = Kibana::build(&KibanaParams::default(), &no_auth).expect_err("a UI needs oauth2-proxy");
        assert!(e.to_string().contains("oauth2_proxy"), "{e}");
        let mut no_zone = cx();
        no_zone.config.dns_zone = None;
        let e = Kibana::build(&KibanaParams::default(), &no_zone).expect_err("the Ingress needs a DNS zone");
        assert_eq!(path_of(&e), "config.dns_zone");
    }

    #[test]
    fn pod_is_locked_down_with_writable_emptydirs() {
        let objects = build(&KibanaParams::default());
        let tpl = &find(&objects, "deploy").value["spec"]["template"];
        let spec = &tpl["spec"];
        assert_eq!(spec["automountServiceAccountToken"], false);
        assert_eq!(spec["serviceAccountName"], "kibana");
        assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
        assert_eq!(spec["securityContext"]["runAsUser"], 1000);
        assert_eq!(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
        let c = &spec["containers"][0];
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
        assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(c["resources"]["requests"], serde_json::json!({"cpu": "100m", "memory": "1Gi"}));
        assert_eq!(c["resources"]["limits"], serde_json::json!({"cpu": "400m", "memory": "1Gi"}));
        let mounts: Vec<&str> =
            c["volumeMounts"].as_array().into_iter().flatten().filter_map(|m| m["mountPath"].as_str()).collect();
        assert_eq!(
            mounts,
            ["/usr/share/kibana/config/kibana.yml", "/usr/share/kibana/data", "/usr/share/kibana/logs", "/tmp"]
        );
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/api/status");
        assert_eq!(c["readinessProbe"]["httpGet"]["port"], "ui");
        assert_eq!(c["livenessProbe"]["tcpSocket"]["port"], "ui");
        assert!(tpl["metadata"]["annotations"].get(crate::common::pod::SECURITY_EXCEPTION_ANNOTATION).is_none());
        assert_eq!(crate::namespaces::pod_security_level(&find(&objects, "deploy").value), "restricted");
    }

    #[test]
    fn config_checksum_changes_with_the_config() {
        let checksum = |cx: &Context| {
            let objects = Kibana::build(&KibanaParams::default(), cx).expect("builds");
            find(&objects, "deploy").value["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
                .as_str()
                .unwrap_or("")
                .to_string()
        };
        let base = checksum(&cx());
        assert_eq!(base.len(), 64);
        assert_eq!(base, checksum(&cx()));
        let mut other = cx();
        other.published.elasticsearch = Some(ServiceRef { name: "es".into(), namespace: "logs".into(), port: 9200 });
        assert_ne!(base, checksum(&other));
        let objects = build(&with(|p| p.replicas = 2));
        assert_eq!(
            find(&objects, "deploy").value["spec"]["template"]["metadata"]["annotations"]["checksum/config"],
            base.as_str()
        );
    }

    #[test]
    fn bad_parameters_are_errors_naming_their_key() {
        let error_of = |p: &KibanaParams| Kibana::build(p, &cx()).expect_err("rejected");
        assert_eq!(path_of(&error_of(&with(|p| p.replicas = 0))), "kibana.replicas");
        assert_eq!(path_of(&error_of(&with(|p| p.image = String::new()))), "kibana.image");
        let e = error_of(&with(|p| p.resources = Resources::new("100m", "256Mi", None, "256Mi")));
        assert_eq!(path_of(&e), "kibana.resources");
        assert!(e.to_string().contains("too small"), "{e}");
        let e = error_of(&with(|p| p.resources.requests.memory = Quantity::from("2Gi")));
        assert_eq!(path_of(&e), "kibana.resources");
    }

    #[test]
    fn every_object_round_trips() {
        for mut o in build(&with(|p| p.replicas = 3)) {
            let before = o.value.clone();
            o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
            assert_eq!(before, o.value, "{} changed in the round trip", o.key);
        }
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(KibanaParams::default()).expect("serializes");
        assert_eq!(json["replicas"], 1);
        let back: KibanaParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, KibanaParams::default());
        assert!(serde_json::from_value::<KibanaParams>(serde_json::json!({"replica": 2})).is_err());
    }

    /// Stands in for cert-manager and oauth2-proxy, which publish the issuer and the
    /// login endpoints in a full stack.
    struct AuthAndTls;

    impl Component for AuthAndTls {
        const NAME: &'static str = "auth_and_tls";
        const SUMMARY: &'static str = "test stand-in";
        const OBJECTS: &'static [ObjectDoc] = &[];
        type Params = KibanaTestParams;
        fn publish(_: &KibanaTestParams, cx: &Context, published: &mut Published) {
            let zone = cx.config.dns_zone.clone().unwrap_or_default();
            published.tls_issuer = Some("letsencrypt-prod".into());
            published.auth = Some(AuthRef {
                auth_url: format!("https://auth.{zone}/oauth2/auth"),
                signin_url: format!("https://auth.{zone}/oauth2/start?rd=$scheme://$host$request_uri"),
            });
        }
        fn build(_: &KibanaTestParams, _: &Context) -> Result<Vec<Object>, Error> {
            Ok(Vec::new())
        }
    }

    /// No parameters.
    #[derive(Default, serde::Deserialize, Serialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct KibanaTestParams {}

    #[test]
    fn renders_with_elasticsearch_on_gke() {
        let mut s = Stack::new();
        s.platform("gke", "test").expect("gke exists");
        s.set("config.dns_zone=example.com", false).expect("a valid --set");
        let rendered = s.render(&[&Elasticsearch, &AuthAndTls, &Kibana]).unwrap_or_else(|e| panic!("{}", e.render()));
        let mine: Vec<(&str, &str)> = rendered
            .objects
            .iter()
            .filter(|o| o.component == "kibana" && o.kind() != "NetworkPolicy")
            .map(|o| (o.kind(), o.name()))
            .collect();
        assert_eq!(mine.len(), 5, "{mine:?}");
        let text = rendered
            .objects
            .iter()
            .find(|o| o.component == "kibana" && o.key == "config")
            .and_then(|o| o.value["data"]["kibana.yml"].as_str())
            .expect("kibana.yml")
            .to_string();
        // Kibana reads the elasticsearch client Service that is rendered, on its http port.
        let es = rendered
            .objects
            .iter()
            .find(|o| o.kind() == "Service" && o.name() == CLIENT_SERVICE)
            .expect("the elasticsearch client Service");
        assert!(es.value["spec"]["ports"].as_array().into_iter().flatten().any(|p| p["port"] == 9200));
        assert!(text.contains(&format!("http://{CLIENT_SERVICE}.kubeprod.svc:9200")), "{text}");
    }

    #[test]
    fn without_elasticsearch_the_render_fails_with_help() {
        let mut s = Stack::new();
        s.platform("gke", "test").expect("gke exists");
        s.set("config.dns_zone=example.com", false).expect("a valid --set");
        let e = s.render(&[&AuthAndTls, &Kibana]).expect_err("elasticsearch is required");
        assert!(e.render().contains("help: render `elasticsearch` too"), "{}", e.render());
    }
}
