//! The closed set of things a plan can do. There is no delete and no rename:
//! Graph has neither for attribute sets, definitions or allowed values, and a
//! variant added here is a compile error in every renderer and executor.

use std::fmt;

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Create,
    Update,
    Deactivate,
    Reactivate,
    Assign,
    Unassign,
}

impl Action {
    /// The word used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Deactivate => "deactivate",
            Action::Reactivate => "reactivate",
            Action::Assign => "assign",
            Action::Unassign => "unassign",
        }
    }

    /// The one-character marker of the text plan.
    pub fn symbol(self) -> char {
        match self {
            Action::Create | Action::Assign => '+',
            Action::Update => '~',
            Action::Deactivate | Action::Unassign => '-',
            Action::Reactivate => '^',
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    AttributeSet,
    Definition,
    AllowedValue,
    Assignment,
}

impl Kind {
    /// Spelled as in the JSON plan.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AttributeSet => "attributeSet",
            Kind::Definition => "definition",
            Kind::AllowedValue => "allowedValue",
            Kind::Assignment => "assignment",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
