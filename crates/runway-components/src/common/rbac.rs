//! RBAC objects: ServiceAccounts, the rules of Roles and ClusterRoles, and the bindings
//! that grant them to a component's ServiceAccount.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The API group of Roles and ClusterRoles, as a binding's `roleRef` names it.
pub const API_GROUP: &str = "rbac.authorization.k8s.io";

/// `get`, `list` and `watch`: what a controller that only reads asks for.
pub const READ: &[&str] = &["get", "list", "watch"];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

/// A ServiceAccount. `automount` is its `automountServiceAccountToken`: `Some(true)` for
/// pods that talk to the API, `Some(false)` for those that do not, `None` to leave it to
/// the pod spec.
pub fn service_account(metadata: ObjectMeta, automount: Option<bool>) -> ServiceAccount {
    ServiceAccount { metadata, automount_service_account_token: automount, ..Default::default() }
}

/// A rule allowing `verbs` on `resources` of the API `groups` (`""` is the core group).
pub fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(strings(groups)),
        resources: Some(strings(resources)),
        verbs: strings(verbs),
        ..Default::default()
    }
}

/// [`rule`] limited to the objects `names`.
pub fn rule_named(groups: &[&str], resources: &[&str], names: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule { resource_names: Some(strings(names)), ..rule(groups, resources, verbs) }
}

/// A namespaced Role of `rules`.
pub fn role(metadata: ObjectMeta, rules: Vec<PolicyRule>) -> Role {
    Role { metadata, rules: Some(rules) }
}

/// A ClusterRole of `rules` (no aggregation rule).
pub fn cluster_role(metadata: ObjectMeta, rules: Vec<PolicyRule>) -> ClusterRole {
    ClusterRole { metadata, rules: Some(rules), ..Default::default() }
}

/// The ServiceAccount `name` of namespace `namespace`, as a binding's subject.
pub fn service_account_subject(name: &str, namespace: &str) -> Subject {
    Subject {
        kind: "ServiceAccount".into(),
        name: name.into(),
        namespace: Some(namespace.into()),
        ..Default::default()
    }
}

/// A grant of one role to one ServiceAccount; [`Grant::role_binding`] and
/// [`Grant::cluster_role_binding`] build the binding object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant<'a> {
    /// The name of the Role or ClusterRole granted.
    pub role: &'a str,
    /// The ServiceAccount it is granted to.
    pub service_account: &'a str,
    /// The ServiceAccount's namespace.
    pub namespace: &'a str,
}

impl Grant<'_> {
    fn role_ref(&self, kind: &str) -> RoleRef {
        RoleRef { api_group: API_GROUP.into(), kind: kind.into(), name: self.role.into() }
    }

    fn subjects(&self) -> Option<Vec<Subject>> {
        Some(vec![service_account_subject(self.service_account, self.namespace)])
    }

    /// A RoleBinding of the Role `role`.
    pub fn role_binding(&self, metadata: ObjectMeta) -> RoleBinding {
        RoleBinding { metadata, role_ref: self.role_ref("Role"), subjects: self.subjects() }
    }

    /// A ClusterRoleBinding of the ClusterRole `role`.
    pub fn cluster_role_binding(&self, metadata: ObjectMeta) -> ClusterRoleBinding {
        ClusterRoleBinding { metadata, role_ref: self.role_ref("ClusterRole"), subjects: self.subjects() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRANT: Grant<'static> = Grant { role: "reader", service_account: "agent", namespace: "kubeprod" };

    #[test]
    fn role_binding_refers_to_a_role_and_the_service_account_of_its_namespace() {
        let b = GRANT.role_binding(ObjectMeta::default());
        assert_eq!((b.role_ref.api_group.as_str(), b.role_ref.kind.as_str()), (API_GROUP, "Role"));
        assert_eq!(b.role_ref.name, "reader");
        let subject = &b.subjects.expect("one subject")[0];
        assert_eq!((subject.kind.as_str(), subject.name.as_str()), ("ServiceAccount", "agent"));
        assert_eq!(subject.namespace.as_deref(), Some("kubeprod"));
    }

    #[test]
    fn cluster_role_binding_refers_to_a_cluster_role() {
        let b = GRANT.cluster_role_binding(ObjectMeta::default());
        assert_eq!(b.role_ref.kind, "ClusterRole");
        assert_eq!(b.subjects.map(|s| s.len()), Some(1));
    }

    #[test]
    fn named_rule_keeps_groups_resources_and_verbs_in_order() {
        let r = rule_named(&["", "apps"], &["daemonsets"], &["kured"], &["update"]);
        assert_eq!(r.api_groups, Some(vec![String::new(), "apps".into()]));
        assert_eq!(r.resource_names, Some(vec!["kured".into()]));
        assert_eq!(r.verbs, vec!["update".to_string()]);
    }

    #[test]
    fn service_account_token_mount_is_as_asked() {
        assert_eq!(service_account(ObjectMeta::default(), Some(false)).automount_service_account_token, Some(false));
        assert_eq!(service_account(ObjectMeta::default(), None).automount_service_account_token, None);
    }
}
