//! The one remote-change engine: every write to a customer's SAP system is a
//! `Flow` that declares its reads, its plan rules and its writes; the engine
//! runs read -> plan -> fingerprint -> confirm -> apply in order -> report.
//! A flow never writes before the consultant confirmed the plan they saw.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::Ctx;
use crate::sap::{Calls, SapClient};

/// What one object of a plan needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Todo {
    /// The remote system already has it as wanted.
    Right,
    Create,
    Change,
    /// It cannot be done (why, in the consultant's words); nothing is tried.
    Cannot(String),
    /// Not this run's to do (why, and who does it): the rest goes on.
    Left(String),
}

/// One field of an object: what the remote system has now and what it will have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldRow {
    pub name: String,
    pub now: String,
    pub wanted: String,
}

impl FieldRow {
    pub fn new(name: impl Into<String>, now: impl Into<String>, wanted: impl Into<String>) -> Self {
        FieldRow {
            name: name.into(),
            now: now.into(),
            wanted: wanted.into(),
        }
    }
    pub fn differs(&self) -> bool {
        self.now != self.wanted
    }
}

/// One remote object, field by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub object: String,
    pub name: String,
    pub todo: Todo,
    pub fields: Vec<FieldRow>,
    /// What will be done, in a sentence, where the fields do not say it.
    pub note: Option<String>,
}

impl Item {
    pub fn new(object: impl Into<String>, name: impl Into<String>, todo: Todo) -> Self {
        Item {
            object: object.into(),
            name: name.into(),
            todo,
            fields: Vec::new(),
            note: None,
        }
    }

    /// An object that exists: right when no field differs, else to change.
    pub fn compared(
        object: impl Into<String>,
        name: impl Into<String>,
        fields: Vec<FieldRow>,
    ) -> Self {
        let todo = if fields.iter().any(FieldRow::differs) {
            Todo::Change
        } else {
            Todo::Right
        };
        Item {
            fields,
            ..Item::new(object, name, todo)
        }
    }

    pub fn with(mut self, fields: Vec<FieldRow>) -> Self {
        self.fields = fields;
        self
    }

    /// A sentence under the object (an empty one is none).
    pub fn noted(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into()).filter(|n: &String| !n.is_empty());
        self
    }

    pub fn writes(&self) -> bool {
        matches!(self.todo, Todo::Create | Todo::Change)
    }

    /// The verdict as a table caption says it ("will be created").
    pub fn verdict(&self) -> String {
        match &self.todo {
            Todo::Right => "already right".into(),
            Todo::Create => "will be created".into(),
            Todo::Change => "will be changed".into(),
            Todo::Cannot(why) => format!("cannot be done: {why}"),
            Todo::Left(why) => format!("left for you: {why}"),
        }
    }

    /// The verdict as a row of a long list says it ("to change (now X)").
    pub fn short_verdict(&self) -> String {
        match &self.todo {
            Todo::Right => "already right".into(),
            Todo::Create => "to create".into(),
            Todo::Change => match self.fields.iter().find(|f| f.differs()) {
                Some(f) if f.now.is_empty() => "to set".into(),
                Some(f) => format!("to change (now {})", f.now),
                None => "to change".into(),
            },
            Todo::Cannot(why) => why.clone(),
            Todo::Left(why) => format!("left for you: {why}"),
        }
    }
}

/// How a plan reads best: a table per object, or one row per object (many
/// objects of one kind, such as approvers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum Layout {
    #[default]
    Objects,
    Rows,
}

/// What the remote system has against what the answers want, object by object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Plan {
    pub items: Vec<Item>,
    pub layout: Layout,
    /// What the consultant should know before confirming (not in the way).
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn of(items: Vec<Item>) -> Plan {
        Plan {
            items,
            layout: Layout::Objects,
            warnings: Vec::new(),
        }
    }

    /// A fingerprint of what the consultant saw, so apply writes only that.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(
            serde_json::to_string(self).unwrap_or_default().as_bytes(),
        ))
    }

    /// How many objects confirming would create or change.
    pub fn writes(&self) -> usize {
        self.items.iter().filter(|i| i.writes()).count()
    }

    pub fn nothing_to_do(&self) -> bool {
        self.writes() == 0
    }

    /// Something is in the way that only a person can clear: nothing to confirm.
    pub fn blocked(&self) -> bool {
        self.items.iter().any(|i| matches!(i.todo, Todo::Cannot(_)))
            && !matches!(self.layout, Layout::Rows)
    }

    pub fn is_rows(&self) -> bool {
        self.layout == Layout::Rows
    }

    /// The field names of a rows layout, from its first object.
    pub fn columns(&self) -> Vec<String> {
        self.items
            .first()
            .map(|i| i.fields.iter().map(|f| f.name.clone()).collect())
            .unwrap_or_default()
    }
}

/// How far an apply is, for a progress page (counted as writes finish),
/// and what it waits for now (SAP's state of a long step).
#[derive(Default)]
pub struct Progress {
    total: AtomicUsize,
    done: AtomicUsize,
    now: std::sync::Mutex<Option<String>>,
}

impl Progress {
    pub fn set_total(&self, total: usize) {
        self.total.store(total, Ordering::Relaxed);
    }
    pub fn step(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
    /// What the run does or waits for now, in SAP's words.
    pub fn say(&self, what: String) {
        if let Ok(mut n) = self.now.lock() {
            *n = Some(what);
        }
    }
    pub fn saying(&self) -> Option<String> {
        self.now.lock().ok().and_then(|n| n.clone())
    }
    /// (done, total); total 0 while the remote system is still being read.
    pub fn get(&self) -> (usize, usize) {
        let total = self.total.load(Ordering::Relaxed);
        (self.done.load(Ordering::Relaxed).min(total), total)
    }
}

/// What apply did, step by step, in order.
#[derive(Debug, Default)]
pub struct Report<O> {
    /// One sentence per write that succeeded (each goes into the history).
    pub done: Vec<String>,
    /// One sentence per write that failed: the first one stops an ordered flow.
    pub failed: Vec<String>,
    /// The remote system is still working; confirming again continues.
    pub still_running: Option<String>,
    /// What the flow learned for the answers (a key, a certificate, IDs).
    pub output: Option<O>,
}

impl<O> Report<O> {
    pub fn new() -> Self {
        Report {
            done: Vec::new(),
            failed: Vec::new(),
            still_running: None,
            output: None,
        }
    }
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Answers a flow's result fills in, as if typed on `page` (the one save path).
#[derive(Debug, Clone)]
pub struct Fill {
    pub page: &'static str,
    pub values: Vec<(&'static str, String)>,
    /// Tick the page's confirmations, marked as done this way.
    pub ticked_by: Option<&'static str>,
    /// Which confirmations (all of the page when empty).
    pub only: &'static [&'static str],
}

/// One remote change. Everything a flow reads comes from the answers
/// (`wanted`) and from the remote system (`read`); `plan` is a pure rule of
/// the two, so it is unit-tested without SAP; `apply` writes in order.
pub trait Flow: Send + Sync {
    /// What the answers ask the remote system to have.
    type Wanted: Send + Sync;
    /// A signed-in connection (one token for the read and the writes).
    type Session<'a>: Send + Sync;
    /// What the remote system has now.
    type Current: Send + Sync;
    /// What the writes return for the answers.
    type Output: Send + Sync;

    /// The page the calls are logged under.
    const PAGE: &'static str;
    /// The remote system, as messages name it ("S/4HANA").
    const SYSTEM: &'static str;
    /// The history's name for the writes ("S/4HANA API").
    const SOURCE: &'static str;
    /// Whether a run's result is the page's last SAP check (its status
    /// shows "There is a problem" after a failure).
    const OUTCOME_ON_PAGE: bool = false;
    /// Whether, after its writes, the remote system is read again and the
    /// plan must then be empty (what was written is what it holds). Not for
    /// flows whose plan never empties (a rotation) or that read back each
    /// write themselves (many approvers).
    const READ_BACK: bool = false;
    /// Whether a run takes minutes: its start and end go into the history,
    /// so that a restart of the wizard mid-run is reported on the page.
    const LONG: bool = false;
    /// The answers' wanted state; the message names what is missing.
    fn wanted(&self, ctx: &Ctx) -> Result<Self::Wanted, String>;
    fn connect<'a>(
        &self,
        sap: &'a SapClient,
        calls: &Calls,
        w: &Self::Wanted,
    ) -> impl Future<Output = Conn<'a, Self>> + Send;
    fn read(
        &self,
        io: Io<'_, '_, Self>,
    ) -> impl Future<Output = Result<Self::Current, String>> + Send;
    fn plan(&self, w: &Self::Wanted, c: &Self::Current) -> Plan;
    /// Answers to save before anything is written (a generated password, so
    /// a failure half-way never loses it); the flow sees them in `wanted` again.
    fn prepare(&self, _w: &Self::Wanted, _plan: &Plan) -> Result<Vec<Fill>, String> {
        Ok(Vec::new())
    }
    fn apply(
        &self,
        io: Io<'_, '_, Self>,
        c: Self::Current,
    ) -> impl Future<Output = Report<Self::Output>> + Send;
    /// What the result fills in on the setup's pages.
    fn fills(&self, _w: &Self::Wanted, _output: &Self::Output) -> Vec<Fill> {
        Vec::new()
    }
    /// The error shown when writes failed (`done` were written before).
    fn failure(&self, _done: &[String], failed: &[String]) -> String {
        format!(
            "{} What was done before is listed below; run it again to continue from there.",
            failed.first().map_or("A write failed.", String::as_str)
        )
    }
    /// The notice after a run without failures (`Err`: shown as an error),
    /// given what was written and the pages not filled in.
    fn finished(
        &self,
        _w: &Self::Wanted,
        _output: Option<&Self::Output>,
        done: &[String],
        unfilled: &[String],
    ) -> Result<String, String> {
        let head = if done.is_empty() {
            format!(
                "{} already had everything: nothing was written.",
                Self::SYSTEM
            )
        } else {
            "Done.".to_string()
        };
        Ok(if unfilled.is_empty() {
            head
        } else {
            format!("{head} {} Complete it on its page.", unfilled.join(" "))
        })
    }
}

/// What a flow's connect returns: its signed-in session, or why not.
pub type Conn<'a, F> = Result<<F as Flow>::Session<'a>, String>;

/// What a flow reads and writes with: the signed-in session, the log its
/// calls go to, the state the answers want, and the run's progress. One
/// argument, so that every flow's read and apply have the same short
/// signature.
pub struct Io<'r, 's, F: Flow + ?Sized> {
    pub session: &'r F::Session<'s>,
    pub calls: &'r Calls,
    pub wanted: &'r F::Wanted,
    pub progress: &'r Progress,
}

// By hand: a derive would ask `F: Copy`, and only references are copied.
impl<F: Flow + ?Sized> Clone for Io<'_, '_, F> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<F: Flow + ?Sized> Copy for Io<'_, '_, F> {}

/// A plan read from the remote system, with the session that read it.
pub struct Read<'a, F: Flow> {
    pub session: F::Session<'a>,
    pub wanted: F::Wanted,
    pub current: F::Current,
    pub plan: Plan,
}

/// Connect and read; build the plan. Nothing is written.
pub async fn read<'a, F: Flow>(
    flow: &F,
    sap: &'a SapClient,
    calls: &Calls,
    wanted: F::Wanted,
) -> Result<Read<'a, F>, String> {
    let session = flow.connect(sap, calls, &wanted).await?;
    let io = Io {
        session: &session,
        calls,
        wanted: &wanted,
        progress: &Progress::default(),
    };
    let current = flow.read(io).await?;
    let plan = flow.plan(&wanted, &current);
    Ok(Read {
        session,
        wanted,
        current,
        plan,
    })
}

/// What a read back still finds different, a sentence per field.
pub fn differences(after: &Plan) -> Vec<String> {
    after
        .items
        .iter()
        .filter(|i| i.writes())
        .flat_map(|i| {
            let changed: Vec<String> = i
                .fields
                .iter()
                .filter(|f| f.differs())
                .map(|f| {
                    format!(
                        "Read back, {} {} has {}: {}, not {}.",
                        i.object,
                        i.name,
                        f.name,
                        if f.now.is_empty() { "nothing" } else { &f.now },
                        f.wanted
                    )
                })
                .collect();
            if changed.is_empty() {
                vec![format!("Read back, {} {} is not there.", i.object, i.name)]
            } else {
                changed
            }
        })
        .collect()
}

/// Whether a confirmation was given for exactly this plan.
pub fn confirmed(plan: &Plan, fingerprint: Option<&str>) -> bool {
    fingerprint == Some(plan.fingerprint().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(now: &str, wanted: &str) -> FieldRow {
        FieldRow::new("F", now, wanted)
    }

    #[test]
    fn an_object_is_right_only_when_no_field_differs() {
        assert_eq!(
            Item::compared("o", "n", vec![field("a", "a")]).todo,
            Todo::Right
        );
        let changed = Item::compared("o", "n", vec![field("a", "a"), field("", "b")]);
        assert_eq!(changed.todo, Todo::Change);
        assert_eq!(changed.verdict(), "will be changed");
        assert_eq!(changed.short_verdict(), "to set");
        let from = Item::compared("o", "n", vec![field("x", "b")]);
        assert_eq!(from.short_verdict(), "to change (now x)");
    }

    #[test]
    fn the_fingerprint_follows_every_field_of_the_plan() {
        let plan = Plan::of(vec![Item::compared("o", "n", vec![field("a", "b")])]);
        let same = plan.clone();
        assert_eq!(plan.fingerprint(), same.fingerprint());
        let mut other = plan.clone();
        other.items[0].fields[0].now = "c".into();
        assert_ne!(plan.fingerprint(), other.fingerprint());
        let mut renamed = plan.clone();
        renamed.items[0].name = "m".into();
        assert_ne!(plan.fingerprint(), renamed.fingerprint());
        assert!(confirmed(&plan, Some(&same.fingerprint())));
        assert!(!confirmed(&plan, Some(&other.fingerprint())));
        assert!(!confirmed(&plan, None));
    }

    #[test]
    fn a_cannot_blocks_an_object_plan_but_not_a_list() {
        let mut plan = Plan::of(vec![
            Item::new("o", "a", Todo::Create),
            Item::new("o", "b", Todo::Cannot("in the way".into())),
        ]);
        assert_eq!(plan.writes(), 1);
        assert!(plan.blocked());
        plan.layout = Layout::Rows;
        assert!(!plan.blocked(), "a list writes the rows it can");
        let left = Plan::of(vec![
            Item::new("o", "a", Todo::Create),
            Item::new("o", "b", Todo::Left("needs another key".into())),
        ]);
        assert!(
            !left.blocked() && left.writes() == 1,
            "what is left does not stop the rest"
        );
        assert_eq!(left.items[1].verdict(), "left for you: needs another key");
    }

    #[test]
    fn progress_never_counts_past_its_total() {
        let p = Progress::default();
        assert_eq!(p.get(), (0, 0));
        p.set_total(2);
        for _ in 0..3 {
            p.step();
        }
        assert_eq!(p.get(), (2, 2));
    }
}
