//! Everything in the tenant that reads a custom security attribute, in one
//! model: attributes can never be deleted, so the harm a plan can do is to
//! deactivate, or change the values of, something another system reads.
//! Each kind of reader (a Conditional Access policy, an app management
//! policy, …) has its own file here that finds, in what the tenant returned,
//!
//! - the [`Reference`]s it makes: which attribute, and which of its values,
//!   one [`Reader`] names — the plan refuses to deactivate what an acting
//!   reader names unless the files acknowledge it;
//! - the [`Impact`] of a principal's value change: whether the principal
//!   enters or leaves what the reader governs.
//!
//! `plan` consumes both (`plan::references` turns references into conflicts
//! and notes, `plan::impact` turns impacts into plan lines); this module
//! never looks at a plan. Adding a reader is one file implementing
//! [`ReadsAttributes`] and one line in the `readers!` list below.
//!
//! Pure: the tenant as read (`LiveState`) and the files in, references and
//! impacts out.

pub mod filter_rule;

use serde_json::{Map, Value};

use crate::model::live::{LivePrincipal, LiveState};
use crate::model::{DesiredState, PrincipalAssignments, PrincipalKey};

/// Why a reader's rule or condition cannot be read: where (an offset from 0
/// into its text) and what. One for every grammar here (filter rules,
/// role-assignment conditions, workflow scope rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub at: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at character {}: {}", self.at + 1, self.message)
    }
}

/// Declares each reader's module and lists it in [`READERS`], in the order
/// their references and impacts are reported.
macro_rules! readers {
    ($($module:ident :: $reader:ident),* $(,)?) => {
        $(pub mod $module;)*
        /// Every kind of reader this version knows.
        pub const READERS: &[&dyn ReadsAttributes] = &[$(&$module::$reader),*];
    };
}

readers! {
    conditional_access::ConditionalAccess,
    app_management::AppManagement,
    role_assignment::RoleAssignments,
    lifecycle_workflow::LifecycleWorkflows,
}

/// What one kind of reader does: find its references and, where it can
/// evaluate them, the impact of value changes.
pub trait ReadsAttributes: Sync {
    /// Which kind of reader this is.
    fn kind(&self) -> Kind;

    /// Why readers of this kind were not read (a permission the sign-in
    /// lacks, say), when they were not: the plan then says what it could not
    /// check instead of taking silence for "nothing reads it".
    fn not_checked(&self, live: &LiveState) -> Option<String>;

    /// What of readers of this kind could not be read though the rest was
    /// (a preview API that refused, say), for the plan's notes: never a
    /// silent skip.
    fn partly_checked(&self, _live: &LiveState) -> Option<String> {
        None
    }

    /// Every reference that readers of this kind make in `live`.
    fn references(&self, live: &LiveState) -> Vec<Reference>;

    /// The impact of `changes` on readers of this kind, with remarks for the
    /// plan's notes (what could not be checked, and why). Readers that
    /// govern nobody's access by value have none.
    fn impact(&self, _changes: &[ValueChange<'_>], _live: &LiveState, _desired: &DesiredState) -> Impacts {
        Impacts::default()
    }
}

/// A kind of reader: a stable key for machines and a noun for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kind {
    /// `conditionalAccessPolicy`, `appManagementPolicy`, …
    pub key: &'static str,
    /// "Conditional Access policy", "app management policy", …
    pub noun: &'static str,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        self.noun
    }
}

/// Who reads: one policy (or assignment, workflow, …) as the tenant returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub kind: Kind,
    /// Its id in the tenant, when it has one.
    pub id: Option<String>,
    /// What to call it: its display name, else its id.
    pub name: String,
    pub state: State,
    /// Which of its conditions reads the attribute: `applicationFilter`,
    /// `excludeActors.customSecurityAttributes`, …
    pub condition: String,
    /// The API and version the condition was read from: `v1.0` or `beta`
    /// for Microsoft Graph.
    pub api_version: String,
}

impl Reader {
    /// "Conditional Access policy `Block legacy auth` (enabled)".
    pub fn describe(&self) -> String {
        format!("{} `{}` ({})", self.kind.describe(), self.name, self.state.describe())
    }
}

/// Whether a reader acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Enabled,
    ReportOnly,
    Disabled,
    /// A state this version does not know: treated as one that acts.
    Other(String),
}

impl State {
    /// Whether deactivating what the reader names changes what it does now.
    pub fn acts(&self) -> bool {
        !matches!(self, State::Disabled)
    }

    pub fn describe(&self) -> String {
        match self {
            State::Enabled => "enabled".into(),
            State::ReportOnly => "report-only".into(),
            State::Disabled => "disabled".into(),
            State::Other(state) => format!("state `{state}`"),
        }
    }

    /// The state as Graph writes it (`enabledForReportingButNotEnforced`).
    pub fn graph_value(&self) -> &str {
        match self {
            State::Enabled => "enabled",
            State::ReportOnly => "enabledForReportingButNotEnforced",
            State::Disabled => "disabled",
            State::Other(state) => state,
        }
    }

    /// The `state` of a Conditional Access policy.
    pub fn of_conditional_access(state: Option<&str>) -> Self {
        match state {
            Some("enabled") => State::Enabled,
            Some("enabledForReportingButNotEnforced") => State::ReportOnly,
            Some("disabled") => State::Disabled,
            Some(other) => State::Other(other.to_owned()),
            None => State::Other("(none)".to_owned()),
        }
    }
}

/// One reader naming one attribute, and which of its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub reader: Reader,
    /// The definition id as the reader writes it (`Access_Tier`).
    pub attribute: String,
    /// The comparison as written (`-eq`, `-startsWith`, `equals`), when the
    /// tool could read one.
    pub operator: Option<String>,
    /// Which values of the attribute it names.
    pub values: Values,
}

/// Which values of its attribute a reference names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values {
    /// Every value: the tool cannot read the comparison, or it compares with
    /// something other than a literal. Never guessed to be unrelated.
    Every,
    /// The values that match `literal` by `pattern`.
    Matching { pattern: Pattern, literal: String, case_sensitive: bool },
}

/// How a value is matched against a reference's literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    Equal,
    Prefix,
    Suffix,
    Part,
}

impl Reference {
    /// Whether this reference names the attribute `set.attribute` (Graph
    /// compares ids without regard to case).
    pub fn names_attribute(&self, set: &str, attribute: &str) -> bool {
        self.attribute.eq_ignore_ascii_case(&crate::model::definition_id(set, attribute))
    }

    /// Whether it names `value` of its attribute.
    pub fn names_value(&self, value: &str) -> bool {
        let Values::Matching { pattern, literal, case_sensitive } = &self.values else { return true };
        let (value, literal) = if *case_sensitive {
            (value.to_owned(), literal.clone())
        } else {
            (value.to_ascii_lowercase(), literal.to_ascii_lowercase())
        };
        match pattern {
            Pattern::Equal => value == literal,
            Pattern::Prefix => value.starts_with(&literal),
            Pattern::Suffix => value.ends_with(&literal),
            Pattern::Part => value.contains(&literal),
        }
    }
}

/// Every reference that every reader this version knows makes in `live`,
/// leaving out the kinds that were not read.
pub fn references(live: &LiveState) -> Vec<Reference> {
    READERS
        .iter()
        .filter(|reader| reader.not_checked(live).is_none())
        .flat_map(|reader| reader.references(live))
        .collect()
}

/// The definition ids (`Set_Attribute`, as written) that one policy object
/// names, whichever kind of reader it is (filter rules, exemptions, role
/// assignment conditions, workflows).
pub fn attributes_named_by(policy: &Map<String, Value>) -> Vec<String> {
    let mut named = conditional_access::attributes_named_by(policy);
    named.extend(app_management::attributes_named_by(policy));
    named.extend(role_assignment::attributes_named_by(policy));
    named.extend(lifecycle_workflow::attributes_named_by(policy));
    named
}

/// What to call a policy: its `displayName`, else its id.
pub fn display_name(policy: &Map<String, Value>) -> String {
    policy
        .get("displayName")
        .and_then(Value::as_str)
        .or_else(|| policy.get("id").and_then(Value::as_str))
        .unwrap_or("(unnamed)")
        .to_owned()
}

/// One principal whose values the plan changes, before and after.
#[derive(Debug, Clone)]
pub struct ValueChange<'a> {
    /// The principal as the files key it.
    pub key: PrincipalKey,
    pub principal: &'a LivePrincipal,
    pub before: PrincipalAssignments,
    pub after: PrincipalAssignments,
    /// The definition ids the plan changes on it, lowercased.
    pub touched: Vec<String>,
}

/// The impact of a plan's value changes on one kind of reader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Impacts {
    pub lines: Vec<Impact>,
    /// Remarks for the plan's notes.
    pub notes: Vec<String>,
}

/// How a change moves one principal against one reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Enters,
    Leaves,
    /// The reader reads the changed values, and its verdict stays the same
    /// (an Azure role assignment's condition, say: said, so a reviewer sees
    /// it was checked).
    Unchanged,
    /// The tool cannot say; the reason completes "impact unknown: …".
    Unknown(String),
}

impl Effect {
    pub fn as_str(&self) -> &'static str {
        match self {
            Effect::Enters => "enters",
            Effect::Leaves => "leaves",
            Effect::Unchanged => "unchanged",
            Effect::Unknown(_) => "unknown",
        }
    }
}

/// What a principal holds, as a reader's evaluator asks for it: the values
/// of one definition id (`Set_Attribute`, any case) as text, `None` when it
/// holds none.
pub fn held_values(assignments: &PrincipalAssignments, definition_id: &str) -> Option<Vec<String>> {
    for (set, values) in assignments.iter() {
        for (attribute, value) in values.iter() {
            if crate::model::definition_id(set, attribute).eq_ignore_ascii_case(definition_id) {
                return Some(match value {
                    crate::model::AttributeValue::Boolean(flag) => vec![flag.to_string()],
                    crate::model::AttributeValue::Integer(number) => vec![number.to_string()],
                    crate::model::AttributeValue::String(text) => vec![text.clone()],
                    crate::model::AttributeValue::Integers(numbers) => {
                        numbers.iter().map(ToString::to_string).collect()
                    }
                    crate::model::AttributeValue::Strings(texts) => texts.clone(),
                });
            }
        }
    }
    None
}

/// Every noun an impact line calls its principal by, so that a saved line
/// can be read back (`render::json_read`).
pub const NOUNS: [&str; 4] = ["app", "agent identity", "agent identity blueprint", "user"];

/// One line of impact: a principal and a reader whose verdict on it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impact {
    /// The principal as the files key it.
    pub principal: PrincipalKey,
    pub display_name: Option<String>,
    /// `app`, `agent identity`, `agent identity blueprint`, `user`.
    pub noun: &'static str,
    pub reader: Reader,
    pub effect: Effect,
}

impl Impact {
    /// What to call the principal: its display name, or its key.
    pub fn name(&self) -> String {
        self.display_name.clone().unwrap_or_else(|| self.principal.to_string())
    }

    /// " (through its servicePrincipalFilter)" when the condition is not the
    /// one a reader of its kind is usually read through.
    pub fn via(&self) -> Option<&str> {
        match self.reader.condition.as_str() {
            "applicationFilter" => None,
            other => Some(other),
        }
    }

    /// What entering and leaving are for this kind of reader, and what an
    /// unchanged verdict is: a policy's or workflow's scope, or the access
    /// an Azure role assignment grants.
    pub fn movement(&self) -> [&'static str; 3] {
        match self.reader.kind.key {
            role_assignment::KIND_KEY => {
                ["gains access through", "loses access through", "keeps the same access through"]
            }
            _ => ["enters the scope of", "leaves the scope of", "stays as it was against"],
        }
    }

    /// "app Contoso Payroll leaves the scope of `Block legacy auth (Tier0)` (enabled)".
    pub fn sentence(&self) -> String {
        let what = format!("`{}` ({})", self.reader.name, self.reader.state.describe());
        let via = self.via().map(|via| format!(" (through its {via})")).unwrap_or_default();
        let [enters, leaves, unchanged] = self.movement();
        match &self.effect {
            Effect::Enters => format!("{} {} {enters} {what}{via}", self.noun, self.name()),
            Effect::Leaves => format!("{} {} {leaves} {what}{via}", self.noun, self.name()),
            Effect::Unchanged => format!("{} {} {unchanged} {what}{via}", self.noun, self.name()),
            Effect::Unknown(reason) => {
                format!("impact unknown: {} {} against {what}{via}: {reason}", self.noun, self.name())
            }
        }
    }
}
