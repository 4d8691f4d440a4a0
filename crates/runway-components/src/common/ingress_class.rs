//! IngressClasses of the ingress controllers, optionally the cluster's default class.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{IngressClass, IngressClassSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The annotation that makes an IngressClass the one for Ingresses that name none.
pub const IS_DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";

/// The IngressClass handled by the controller `controller` (its `--controller-class`),
/// annotated as the cluster's default when `default_class` is set.
pub fn ingress_class(mut metadata: ObjectMeta, controller: &str, default_class: bool) -> IngressClass {
    if default_class {
        metadata.annotations = Some(BTreeMap::from([(IS_DEFAULT_CLASS_ANNOTATION.to_string(), "true".to_string())]));
    }
    IngressClass { metadata, spec: Some(IngressClassSpec { controller: Some(controller.into()), parameters: None }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_class_is_annotated_and_other_classes_are_not() {
        let default = ingress_class(ObjectMeta::default(), "k8s.io/ingress-nginx", true);
        let annotations = default.metadata.annotations.expect("the default class is annotated");
        assert_eq!(annotations.get(IS_DEFAULT_CLASS_ANNOTATION).map(String::as_str), Some("true"));
        let other = ingress_class(ObjectMeta::default(), "k8s.io/ingress-nginx", false);
        assert_eq!(other.metadata.annotations, None);
        let controller = other.spec.and_then(|s| s.controller);
        assert_eq!(controller.as_deref(), Some("k8s.io/ingress-nginx"));
    }
}
