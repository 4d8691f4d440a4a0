//! PodDisruptionBudgets: how many of a component's pods voluntary evictions (node drains,
//! cluster upgrades) may take down at once.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The bound a budget keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// `maxUnavailable`: at most this many pods down (`1` for stateless replicas and
    /// replicated stores).
    MaxUnavailable(i32),
    /// `minAvailable`: at least this many pods up (a quorum).
    MinAvailable(i32),
}

/// A budget of `budget` over the pods `selector` matches.
pub fn disruption_budget(metadata: ObjectMeta, budget: Budget, selector: LabelSelector) -> PodDisruptionBudget {
    let (min_available, max_unavailable) = match budget {
        Budget::MaxUnavailable(n) => (None, Some(IntOrString::Int(n))),
        Budget::MinAvailable(n) => (Some(IntOrString::Int(n)), None),
    };
    PodDisruptionBudget {
        metadata,
        spec: Some(PodDisruptionBudgetSpec {
            min_available,
            max_unavailable,
            selector: Some(selector),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_unavailable_budget_sets_only_max_unavailable() {
        let pdb = disruption_budget(ObjectMeta::default(), Budget::MaxUnavailable(1), LabelSelector::default());
        let spec = pdb.spec.expect("a built budget has a spec");
        assert_eq!((spec.max_unavailable, spec.min_available), (Some(IntOrString::Int(1)), None));
    }

    #[test]
    fn quorum_budget_sets_only_min_available() {
        let pdb = disruption_budget(ObjectMeta::default(), Budget::MinAvailable(2), LabelSelector::default());
        let spec = pdb.spec.expect("a built budget has a spec");
        assert_eq!((spec.min_available, spec.max_unavailable), (Some(IntOrString::Int(2)), None));
        assert!(spec.selector.is_some());
    }
}
