//! Seeded synthetic tenants for benchmarks and scale tests: a tenant as the
//! files want it and the same tenant with a chosen share of principals
//! differing, both as plain `LiveState`s (export the first to get the files,
//! write the second as a state file or seed the emulator with it). Pure.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::model::live::{LiveAttributeSet, LivePrincipal, LiveState};
use crate::model::{
    AllowedValue, AttributeValue, DataType, Definition, PrincipalAssignments, PrincipalKind, Status,
};

/// The size and make-up of a synthetic tenant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub users: usize,
    pub service_principals: usize,
    pub sets: usize,
    pub definitions_per_set: usize,
    /// Values assigned per principal (each on a different attribute).
    pub assignments_per_principal: usize,
    /// The share of principals whose live values differ from the files.
    pub differing_share: f64,
    pub seed: u64,
}

impl Default for Shape {
    /// The tenant of the benchmarks: 100,000 users, 2,000 service principals,
    /// 5 sets of 8 attributes, 3 values each, 10% differing.
    fn default() -> Self {
        Shape {
            users: 100_000,
            service_principals: 2_000,
            sets: 5,
            definitions_per_set: 8,
            assignments_per_principal: 3,
            differing_share: 0.10,
            seed: 7,
        }
    }
}

/// A generated pair of tenants.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The tenant as the files declare it (export it to get the files).
    pub desired: LiveState,
    /// The tenant as it is: `desired` with some principals' values changed.
    pub live: LiveState,
    /// How many principals differ between the two.
    pub differing_principals: usize,
}

/// Generates the tenant pair for `shape`; the same shape gives the same pair.
pub fn generate(shape: &Shape) -> Generated {
    let mut rng = StdRng::seed_from_u64(shape.seed);
    let mut desired = LiveState { principals_complete: true, ..LiveState::default() };
    let mut definitions = Vec::new();
    for set_index in 0..shape.sets {
        let set = format!("Set{set_index}");
        desired.attribute_sets.insert(
            set.clone(),
            LiveAttributeSet {
                id: set.clone(),
                description: Some(format!("Synthetic attribute set {set_index}")),
                max_attributes_per_set: None,
            },
        );
        for index in 0..shape.definitions_per_set {
            let definition = synthetic_definition(&set, index);
            definitions.push(definition.clone());
            desired.definitions.insert(definition.id(), definition);
        }
    }

    let principals = (0..shape.users)
        .map(|index| (PrincipalKind::User, index))
        .chain((0..shape.service_principals).map(|index| (PrincipalKind::ServicePrincipal, index)));
    let mut live = LiveState { principals_complete: true, ..desired.clone() };
    let mut differing_principals = 0;
    for (kind, index) in principals {
        let values = random_values(&mut rng, &definitions, shape.assignments_per_principal);
        let principal = synthetic_principal(kind, index, values);
        let mut current = principal.clone();
        if rng.random_bool(shape.differing_share.clamp(0.0, 1.0)) {
            differing_principals += 1;
            if let Some(sets) = &mut current.custom_security_attributes {
                change_one_value(&mut rng, sets, &definitions);
            }
        }
        desired.principals.insert(principal.id(), principal);
        live.principals.insert(current.id(), current);
    }
    Generated { desired, live, differing_principals }
}

/// The same principals in a tenant where nothing is set up yet: no attribute
/// sets, no definitions, no values — what an apply of the files starts from
/// on a new tenant (every set, definition and assignment to create).
pub fn fresh(tenant: &LiveState) -> LiveState {
    let mut fresh = LiveState { principals_complete: true, ..LiveState::default() };
    for (id, principal) in &tenant.principals {
        let mut principal = principal.clone();
        principal.custom_security_attributes = None;
        fresh.principals.insert(id.clone(), principal);
    }
    fresh
}

/// Attribute `index` of `set`: predefined String, String collection, Integer, Boolean in turn.
fn synthetic_definition(set: &str, index: usize) -> Definition {
    let (data_type, is_collection, predefined) = match index % 4 {
        0 => (DataType::String, false, true),
        1 => (DataType::String, true, false),
        2 => (DataType::Integer, false, false),
        _ => (DataType::Boolean, false, false),
    };
    Definition {
        attribute_set: set.to_owned(),
        name: format!("Attr{index}"),
        description: Some(format!("Synthetic {data_type} attribute {index}")),
        data_type,
        is_collection,
        is_searchable: true,
        use_pre_defined_values_only: predefined,
        status: Status::Available,
        allowed_values: if predefined {
            (0..10).map(|value| AllowedValue { id: format!("Value{value}"), is_active: true }).collect()
        } else {
            Vec::new()
        },
    }
}

fn random_value(rng: &mut StdRng, definition: &Definition) -> AttributeValue {
    match (definition.data_type, definition.is_collection) {
        (DataType::Boolean, _) => AttributeValue::Boolean(rng.random_bool(0.5)),
        (DataType::Integer, _) => AttributeValue::Integer(rng.random_range(1000..100_000)),
        (DataType::String, false) if definition.use_pre_defined_values_only => {
            AttributeValue::String(definition.allowed_values[rng.random_range(0..10)].id.clone())
        }
        (DataType::String, false) => AttributeValue::String(format!("Text{}", rng.random_range(0..1000))),
        (DataType::String, true) => AttributeValue::strings(
            (0..rng.random_range(1..=3)).map(|_| format!("Tag{}", rng.random_range(0..50))).collect(),
        ),
    }
}

fn random_values(rng: &mut StdRng, definitions: &[Definition], count: usize) -> PrincipalAssignments {
    let mut values = PrincipalAssignments::new();
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < count.min(definitions.len()) {
        let index = rng.random_range(0..definitions.len());
        if !chosen.contains(&index) {
            chosen.push(index);
        }
    }
    for index in chosen {
        let definition = &definitions[index];
        values
            .entry(definition.attribute_set.clone())
            .or_default()
            .insert(definition.name.clone(), random_value(rng, definition));
    }
    values
}

/// Replaces one of the principal's values with a different one.
fn change_one_value(rng: &mut StdRng, sets: &mut PrincipalAssignments, definitions: &[Definition]) {
    let Some((set, attributes)) = sets.iter_mut().next() else { return };
    let Some((name, value)) = attributes.iter_mut().next() else { return };
    let Some(definition) = definitions.iter().find(|d| d.attribute_set == *set && d.name == *name) else {
        return;
    };
    for _ in 0..20 {
        let other = random_value(rng, definition);
        if other != *value {
            *value = other;
            return;
        }
    }
}

fn synthetic_principal(kind: PrincipalKind, index: usize, values: PrincipalAssignments) -> LivePrincipal {
    match kind {
        PrincipalKind::User => LivePrincipal {
            odata_type: None,
            kind,
            object_id: format!("{index:08x}-0000-4000-8000-{index:012x}"),
            user_principal_name: Some(format!("user{index}@contoso.example")),
            app_id: None,
            display_name: None,
            custom_security_attributes: Some(values),
        },
        PrincipalKind::ServicePrincipal => LivePrincipal {
            odata_type: None,
            kind,
            object_id: format!("{index:08x}-1111-4000-8000-{index:012x}"),
            user_principal_name: None,
            app_id: Some(format!("{index:08x}-2222-4000-8000-{index:012x}")),
            display_name: Some(format!("Synthetic app {index}")),
            custom_security_attributes: Some(values),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_shape_gives_the_same_tenants() {
        let shape = Shape { users: 200, service_principals: 20, ..Shape::default() };
        let (first, second) = (generate(&shape), generate(&shape));
        assert_eq!(first.desired, second.desired);
        assert_eq!(first.live, second.live);
        assert_eq!(first.desired.principals.len(), 220);
        assert_eq!(first.desired.definitions.len(), 40);
    }

    #[test]
    fn about_the_chosen_share_differs() {
        let shape = Shape { users: 2_000, service_principals: 0, ..Shape::default() };
        let generated = generate(&shape);
        let differing = generated
            .desired
            .principals
            .iter()
            .filter(|(id, principal)| generated.live.principals[*id] != **principal)
            .count();
        assert_eq!(differing, generated.differing_principals);
        assert!((150..250).contains(&differing), "{differing}");
        for principal in generated.desired.principals.values() {
            let count: usize =
                principal.custom_security_attributes.iter().flatten().map(|(_, values)| values.len()).sum();
            assert_eq!(count, 3);
        }
    }
}
