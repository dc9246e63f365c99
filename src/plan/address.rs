//! Addresses name every object a plan talks about, the same way in every
//! format: `Engineering`, `Engineering.Project`, `Engineering.Project=Alpine`,
//! `user:alice@contoso.com/Engineering.Project`.

use std::fmt;

use crate::model::PrincipalKey;

use super::Kind;

/// The name of one object of the plan. Orders by kind first, then by name,
/// which is the order of the plan within one step.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Address {
    AttributeSet {
        set: String,
    },
    Definition {
        set: String,
        attribute: String,
    },
    AllowedValue {
        set: String,
        attribute: String,
        value: String,
    },
    Assignment {
        principal: PrincipalKey,
        set: String,
        attribute: String,
    },
    /// A value a group entry (`assignments.groups`) gives its members,
    /// keyed as the files name the group: `group:Eng-Payments/Eng.Project`.
    /// Conflicts and notes name it; changes name the principal.
    GroupAssignment {
        group: String,
        set: String,
        attribute: String,
    },
}

impl Address {
    pub fn kind(&self) -> Kind {
        match self {
            Address::AttributeSet { .. } => Kind::AttributeSet,
            Address::Definition { .. } => Kind::Definition,
            Address::AllowedValue { .. } => Kind::AllowedValue,
            Address::Assignment { .. } | Address::GroupAssignment { .. } => Kind::Assignment,
        }
    }

    pub fn set(&self) -> &str {
        match self {
            Address::AttributeSet { set }
            | Address::Definition { set, .. }
            | Address::AllowedValue { set, .. }
            | Address::Assignment { set, .. }
            | Address::GroupAssignment { set, .. } => set,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::AttributeSet { set } => write!(f, "{set}"),
            Address::Definition { set, attribute } => write!(f, "{set}.{attribute}"),
            Address::AllowedValue { set, attribute, value } => write!(f, "{set}.{attribute}={value}"),
            Address::Assignment { principal, set, attribute } => {
                write!(f, "{principal}/{set}.{attribute}")
            }
            Address::GroupAssignment { group, set, attribute } => {
                write!(f, "group:{group}/{set}.{attribute}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_print_as_documented() {
        let value = Address::AllowedValue {
            set: "Engineering".into(),
            attribute: "Project".into(),
            value: "Alpine".into(),
        };
        assert_eq!(value.to_string(), "Engineering.Project=Alpine");
        let assignment = Address::Assignment {
            principal: PrincipalKey::User("alice@contoso.com".into()),
            set: "Engineering".into(),
            attribute: "Project".into(),
        };
        assert_eq!(assignment.to_string(), "user:alice@contoso.com/Engineering.Project");
    }
}
