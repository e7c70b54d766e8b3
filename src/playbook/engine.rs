//! Runs the page declarations: parses a submitted form into stored values,
//! computes page status and progress from the saved answers.

use std::collections::BTreeMap;

use super::{CHECK_PAGE, Kind, PAGES, Page, Parsed, Parser};
use crate::domain::S4Host;
use crate::store::Setup;
use crate::store::Stored;

/// What parsers, guides and checks can see: the saved answers, overlaid with
/// the values being submitted on the current page.
/// A look-up of a stored secret (its clear text, or its mask).
pub type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

pub struct Ctx<'a> {
    setup: Option<&'a Setup>,
    /// The parsed S/4HANA host, asked for by many guides and prefills.
    s4: std::cell::OnceCell<Option<S4Host>>,
    overlay: BTreeMap<String, String>,
    reveal: &'a Lookup<'a>,
    /// A stored secret's mask without decrypting it, where the caller keeps them.
    mask: Option<&'a Lookup<'a>>,
    pub now: i64,
}

impl<'a> Ctx<'a> {
    pub fn new(setup: &'a Setup, reveal: &'a dyn Fn(&str) -> Option<String>, now: i64) -> Self {
        Ctx {
            setup: Some(setup),
            s4: std::cell::OnceCell::new(),
            overlay: BTreeMap::new(),
            reveal,
            mask: None,
            now,
        }
    }

    /// Masks of stored secrets come from `mask` (no decryption for a page).
    pub fn with_masks(mut self, mask: &'a dyn Fn(&str) -> Option<String>) -> Self {
        self.mask = Some(mask);
        self
    }

    /// A context without saved answers (unit tests, imports).
    pub fn empty(reveal: &'a dyn Fn(&str) -> Option<String>, now: i64) -> Self {
        Ctx {
            setup: None,
            s4: std::cell::OnceCell::new(),
            overlay: BTreeMap::new(),
            reveal,
            mask: None,
            now,
        }
    }

    pub fn set(&mut self, key: &str, value: &str) {
        if key == "s4_host" {
            self.s4 = std::cell::OnceCell::new();
        }
        self.overlay.insert(key.to_string(), value.to_string());
    }

    /// A stored value as it is (bindings, ciphertext), for the engine.
    pub(super) fn raw_value(&self, key: &str) -> Option<&str> {
        self.raw(key)
    }

    /// A secret in clear text for sending to SAP: only while the hosts it goes
    /// to are the ones it was entered for (`Err` says what to do).
    pub fn secret_to_send(&self, key: &str) -> Result<Option<String>, String> {
        let Some(secret) = self.secret(key) else {
            return Ok(None);
        };
        match super::binding_problem(key, self) {
            Some(problem) => Err(problem),
            None => Ok(Some(secret)),
        }
    }

    fn raw(&self, key: &str) -> Option<&str> {
        if let Some(v) = self.overlay.get(key) {
            return Some(v.as_str());
        }
        self.setup?.answer(key)
    }

    /// A plain (non-secret) answer, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        if super::is_secret_key(key) {
            return None;
        }
        self.raw(key).filter(|v| !v.is_empty())
    }

    /// A secret in clear text, for SAP calls only; never for pages.
    pub fn secret(&self, key: &str) -> Option<String> {
        if let Some(v) = self.overlay.get(key) {
            return Some(v.clone());
        }
        self.raw(key).and_then(|c| (self.reveal)(c))
    }

    /// A secret as pages may show it.
    pub fn masked(&self, key: &str) -> Option<String> {
        match (self.overlay.get(key), self.mask) {
            (None, Some(mask)) => self.raw(key).and_then(mask),
            _ => self.secret(key).map(|s| crate::fmt::mask(&s)),
        }
    }

    pub fn s4(&self) -> Option<S4Host> {
        self.s4
            .get_or_init(|| {
                self.get("s4_host")
                    .and_then(|h| S4Host::parse(h).ok())
                    .map(|c| c.value)
            })
            .clone()
    }

    pub fn setup_name(&self) -> &str {
        self.setup.map_or("", |s| s.name.as_str())
    }
}

/// What one field may hold: more than ten thousand approvers with their
/// Global User IDs; any key or certificate is a few kilobytes.
pub const FIELD_LIMIT: usize = 2 * 1024 * 1024;
/// What a whole form keeps in memory.
pub const KEPT_LIMIT: usize = 4 * 1024 * 1024;

/// A submitted form: repeated text fields and uploaded files.
#[derive(Debug, Default)]
pub struct FormInput {
    pub values: Vec<(String, String)>,
    pub files: Vec<(String, Vec<u8>)>,
    /// (field, file name as the browser sent it) of uploads.
    pub file_names: Vec<(String, String)>,
    /// (field, bytes) of fields larger than a field may be: not kept.
    pub oversized: Vec<(String, usize)>,
}

impl FormInput {
    pub fn first(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.values
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub fn file_name(&self, key: &str) -> Option<&str> {
        self.file_names
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub fn oversized(&self, key: &str) -> Option<usize> {
        self.oversized
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, n)| *n)
    }
    pub fn file(&self, key: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_slice())
    }
}

/// A page's answers after a successful parse, ready to store.
#[derive(Debug)]
pub struct Submission {
    /// Secret values are `Stored::Secret` (clear text, the store encrypts them)
    /// or, when kept from an earlier save, already encrypted `Stored::Plain`.
    pub data: BTreeMap<String, Stored>,
    pub warnings: Vec<String>,
    pub basis: String,
}

/// Field errors: (field key, message), in page order.
#[derive(Debug)]
pub struct SubmitError {
    pub errors: Vec<(&'static str, String)>,
}

/// Parse a submitted page. `later` is "save and come back later": missing
/// required answers are allowed, wrong ones are not.
pub fn submit(
    page: &Page,
    form: &FormInput,
    ctx: &mut Ctx,
    user: &str,
    later: bool,
) -> Result<Submission, SubmitError> {
    let saved = ctx.setup.and_then(|s| s.pages.get(page.id));
    let saved_value = |k: &str| saved.and_then(|p| p.data.get(k)).cloned();
    let mut data = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut errors = Vec::new();

    for field in page.fields {
        if let Some(k) = field.known.and_then(|known| known(ctx)) {
            ctx.set(field.key, k.value);
            data.insert(field.key.to_string(), Stored::Plain(k.value.to_string()));
            continue;
        }
        let too_large = form
            .oversized(field.key)
            .or_else(|| form.oversized(&format!("{}_text", field.key)));
        if let Some(bytes) = too_large {
            let what = field.label.trim_end_matches(" (optional)");
            errors.push((
                field.key,
                format!(
                    "This is not the {what}: what was sent here is {}, and the wizard takes at most {} in one field. Paste or choose only the {what}; the other values on this page were kept.",
                    crate::fmt::bytes(bytes),
                    crate::fmt::bytes(FIELD_LIMIT)
                ),
            ));
            continue;
        }
        let raw = form.first(field.key).unwrap_or("");
        // Copied text brings invisible characters; secrets are taken as typed.
        let (text, cleaned) = match field.kind {
            Kind::Secret | Kind::Confirm(_) => (std::borrow::Cow::Borrowed(raw), None),
            _ => crate::domain::pasted::clean(
                raw,
                matches!(field.kind, Kind::Text | Kind::Choice(_)),
            ),
        };
        let text: &str = &text;
        let keep_saved = |data: &mut BTreeMap<String, Stored>| -> bool {
            let keys = std::iter::once(field.key).chain(field.also_stores.iter().copied());
            let mut any = false;
            for k in keys {
                if let Some(v) = saved_value(k) {
                    data.insert(k.to_string(), Stored::Plain(v));
                    any = true;
                }
            }
            any
        };
        let outcome: Result<Option<Parsed>, String> = match field.kind {
            Kind::Confirm(items) => {
                let ticked = form.all(field.key);
                if let Some(bad) = ticked
                    .iter()
                    .find(|t| !items.iter().any(|(id, _)| id == *t))
                {
                    Err(format!(
                        "\"{bad}\" is not one of the confirmations on this page"
                    ))
                } else {
                    for (id, _) in items.iter().filter(|(id, _)| ticked.contains(id)) {
                        let k = format!("{}.{id}", field.key);
                        let stamp =
                            saved_value(&k).unwrap_or_else(|| format!("{}|{user}", ctx.now));
                        data.insert(k, Stored::Plain(stamp));
                    }
                    Ok(None)
                }
            }
            Kind::Choice(options) => {
                let v = text.trim();
                if v.is_empty() {
                    if field.optional || later {
                        Ok(None)
                    } else {
                        Err(format!("Select an answer for: {}", field.label))
                    }
                } else if options.iter().any(|(o, _)| *o == v) {
                    Ok(Some(Parsed {
                        values: vec![(field.key, Stored::Plain(v.to_string()))],
                        warnings: vec![],
                    }))
                } else {
                    Err(format!(
                        "Select one of the listed answers for: {}",
                        field.label
                    ))
                }
            }
            Kind::Secret | Kind::Json if text.trim().is_empty() && keep_saved(&mut data) => {
                Ok(None)
            }
            Kind::File => {
                let pasted_key = format!("{}_text", field.key);
                let pasted =
                    crate::domain::pasted::clean(form.first(&pasted_key).unwrap_or(""), false).0;
                let bytes = form
                    .file(field.key)
                    .or_else(|| (!pasted.trim().is_empty()).then_some(pasted.as_bytes()));
                match bytes {
                    Some(b) => run(field.parse, b, ctx),
                    None if keep_saved(&mut data) => Ok(None),
                    None if field.optional || later => Ok(None),
                    None => run(field.parse, b"", ctx),
                }
            }
            _ => {
                if text.trim().is_empty() && (field.optional || later) {
                    Ok(None)
                } else if matches!(field.kind, Kind::Text | Kind::Lines)
                    && crate::domain::looks_secret(text)
                {
                    // Never into an error message, never back into the page.
                    Err(format!(
                        "This looks like a private key or a client secret. It was neither saved nor shown again; enter the {} here",
                        field.label.trim_end_matches(" (optional)")
                    ))
                } else {
                    run(field.parse, text.as_bytes(), ctx)
                }
            }
        };
        match outcome {
            Ok(Some(parsed)) => {
                if let Some(note) = cleaned {
                    warnings.push(format!(
                        "{}: {note}",
                        field.label.trim_end_matches(" (optional)")
                    ));
                }
                for (k, v) in parsed.values {
                    match &v {
                        Stored::Plain(s) | Stored::Secret(s) => ctx.set(k, s),
                    }
                    data.insert(k.to_string(), v);
                }
                warnings.extend(parsed.warnings);
            }
            Ok(None) => {
                for (k, v) in &data {
                    if let Stored::Plain(s) = v
                        && !super::is_secret_key(k)
                    {
                        ctx.set(k, s);
                    }
                }
            }
            Err(message) => errors.push((field.key, message)),
        }
    }
    if errors.is_empty()
        && let Some(check) = page.check
    {
        errors.extend(check(ctx));
    }
    if !errors.is_empty() {
        return Err(SubmitError { errors });
    }
    // A secret typed now is bound to the hosts it will be sent to; a kept one
    // keeps the binding it had.
    let secrets: Vec<(String, bool)> = data
        .iter()
        .filter(|(k, _)| super::is_secret_key(k))
        .map(|(k, v)| (k.clone(), matches!(v, Stored::Secret(_))))
        .collect();
    for (k, fresh) in secrets {
        let bound_key = format!("{}{k}", super::BOUND_PREFIX);
        let bound = if fresh {
            super::secret_hosts(&k, ctx)
        } else {
            saved_value(&bound_key)
        };
        if let Some(b) = bound {
            data.insert(bound_key, Stored::Plain(b));
        }
    }
    Ok(Submission {
        data,
        warnings,
        basis: basis(page, ctx),
    })
}

/// Text an import may carry where no parser applies: bounded, no control
/// characters but line breaks.
fn plain_text(v: &str) -> bool {
    v.len() <= 4096 && !v.chars().any(|c| c.is_control() && c != '\n')
}

/// An imported page's answers, checked as if they were typed: text fields
/// through their own parsers, choices and confirmations against the page,
/// values derived from pasted keys and certificates (whose documents are not
/// exported) as https URLs or plain text, then the page's cross-field checks.
/// Confirmations keep their original who and when, marked as imported from
/// `source`. Errors name the field.
pub fn import_page(
    page: &Page,
    data: BTreeMap<String, String>,
    ctx: &mut Ctx,
    source: &str,
) -> Result<BTreeMap<String, Stored>, String> {
    let mut out = BTreeMap::new();
    let bad = |label: &str, e: &str| format!("{} — {label}: {e}", page.title);
    for (k, v) in data {
        let field = page.fields.iter().find(|f| f.key == k);
        let derived = page
            .fields
            .iter()
            .find(|f| f.also_stores.contains(&k.as_str()));
        let confirm = k.split_once('.').and_then(|(fk, item)| {
            page.fields.iter().find(|f| {
                f.key == fk && matches!(f.kind, Kind::Confirm(items) if items.iter().any(|(id, _)| *id == item))
            })
        });
        if let Some(f) = confirm {
            let mut parts = v.splitn(3, '|');
            let at = parts.next().and_then(|a| a.parse::<i64>().ok());
            let who = parts.next().filter(|w| crate::domain::user_name(w).is_ok());
            let (Some(at), Some(who)) = (at, who) else {
                return Err(bad(f.label, "a confirmation without a valid who and when"));
            };
            let source: String = source.chars().filter(|c| *c != '|').collect();
            out.insert(
                k,
                Stored::Plain(format!("{at}|{who}|imported from {source}")),
            );
            continue;
        }
        match (field, derived) {
            (Some(f), _) => match (f.kind, f.parse) {
                (Kind::Choice(opts), _) => {
                    if !opts.iter().any(|(o, _)| *o == v) {
                        return Err(bad(f.label, "not one of the answers this page offers"));
                    }
                    out.insert(k, Stored::Plain(v));
                }
                (Kind::Text | Kind::Lines, Parser::Text(parse)) => {
                    let parsed = parse(&v, ctx).map_err(|e| bad(f.label, &e))?;
                    for (pk, pv) in parsed.values {
                        if let Stored::Plain(p) = &pv {
                            ctx.set(pk, p);
                        }
                        out.insert(pk.to_string(), pv);
                    }
                }
                _ if plain_text(&v) => {
                    out.insert(k, Stored::Plain(v));
                }
                _ => return Err(bad(f.label, "not plain text")),
            },
            (None, Some(f)) => {
                let is_url = k.ends_with("_url") || k.ends_with("_uri");
                let ok = if is_url {
                    url::Url::parse(&v)
                        .is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some())
                } else {
                    plain_text(&v)
                };
                if !ok {
                    return Err(bad(f.label, &format!("the value of {k} is not valid")));
                }
                out.insert(k, Stored::Plain(v));
            }
            (None, None)
                if k == super::WARNINGS_KEY
                    || k == super::DONE_BY_KEY
                    || k.starts_with(super::BOUND_PREFIX) =>
            {
                if !plain_text(&v) {
                    return Err(bad(&k, "not plain text"));
                }
                out.insert(k, Stored::Plain(v));
            }
            (None, None) => {
                return Err(format!(
                    "{}: the file has an answer \"{k}\" this page does not ask",
                    page.title
                ));
            }
        }
    }
    for (k, v) in &out {
        if let Stored::Plain(p) = v {
            ctx.set(k, p);
        }
    }
    if let Some(check) = page.check
        && let Some((key, e)) = check(ctx).into_iter().next()
    {
        let label = page.field(key).map_or(key, |f| f.label);
        return Err(bad(label, &e));
    }
    Ok(out)
}

fn run(parser: Parser, bytes: &[u8], ctx: &Ctx) -> Result<Option<Parsed>, String> {
    match parser {
        Parser::Text(f) => match std::str::from_utf8(bytes) {
            Ok(s) => f(s, ctx).map(Some),
            Err(_) => {
                Err("This field takes text; the value contains bytes that are not text".into())
            }
        },
        Parser::Bytes(f) => f(bytes, ctx).map(Some),
        Parser::None => Ok(None),
    }
}

/// The values of other pages this page was answered against.
pub fn basis(page: &Page, ctx: &Ctx) -> String {
    page.depends_on
        .iter()
        .map(|k| format!("{k}={}", ctx.get(k).unwrap_or("")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `saved` (a page's basis) still equals the current values, without
/// building the current basis: this runs for every page on every page view.
fn basis_matches(page: &Page, ctx: &Ctx, saved: &str) -> bool {
    if page.depends_on.is_empty() {
        return saved.is_empty();
    }
    let mut lines = saved.split('\n');
    for k in page.depends_on {
        let current = ctx.get(k).unwrap_or("");
        let same = lines
            .next()
            .and_then(|l| l.strip_prefix(k))
            .and_then(|l| l.strip_prefix('='))
            .is_some_and(|v| v == current);
        if !same {
            return false;
        }
    }
    lines.next().is_none()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStatus {
    NotStarted,
    InProgress,
    Completed,
    CannotStartYet,
    /// A fact this page was answered against changed since.
    NeedsReview,
    Problem(String),
}

impl PageStatus {
    pub fn label(&self) -> &'static str {
        match self {
            PageStatus::NotStarted => "Not started",
            PageStatus::InProgress => "In progress",
            PageStatus::Completed => "Completed",
            PageStatus::CannotStartYet => "Cannot start yet",
            PageStatus::NeedsReview => "Needs review",
            PageStatus::Problem(_) => "There is a problem",
        }
    }
    pub fn css(&self) -> &'static str {
        match self {
            PageStatus::Completed => "tag tag--done",
            PageStatus::NotStarted | PageStatus::CannotStartYet => "tag tag--grey",
            PageStatus::InProgress => "tag tag--blue",
            PageStatus::NeedsReview | PageStatus::Problem(_) => "tag tag--red",
        }
    }
    pub fn is_done(&self) -> bool {
        *self == PageStatus::Completed
    }

    /// The statuses a whole setup can have, for the setups list's filter.
    pub const OVERALL: &[PageStatus] = &[
        PageStatus::NotStarted,
        PageStatus::InProgress,
        PageStatus::NeedsReview,
        PageStatus::Problem(String::new()),
        PageStatus::Completed,
    ];

    /// The style of a stored status label.
    pub fn css_of(label: &str) -> &'static str {
        Self::OVERALL
            .iter()
            .find(|s| s.label() == label)
            .map_or("tag tag--grey", PageStatus::css)
    }
}

/// Status of one page from the saved answers.
pub fn page_status(page: &Page, setup: &Setup, ctx: &Ctx) -> PageStatus {
    if let Some(all) = shared_statuses(setup, ctx) {
        return all
            .get(page.index())
            .cloned()
            .unwrap_or(PageStatus::NotStarted);
    }
    if page.id == CHECK_PAGE {
        return statuses(setup, ctx).pop().unwrap_or(PageStatus::NotStarted);
    }
    status_with(page, setup, ctx, &[])
}

/// The first page that is not completed and can be started: where a
/// consultant goes on after a run filled pages in.
pub fn next_to_do(setup: &Setup, ctx: &Ctx) -> Option<&'static Page> {
    PAGES.iter().zip(statuses(setup, ctx)).find_map(|(p, s)| {
        (!matches!(s, PageStatus::Completed | PageStatus::CannotStartYet)).then_some(p)
    })
}

/// The status of every page, in page order, each computed once.
pub fn statuses(setup: &Setup, ctx: &Ctx) -> Vec<PageStatus> {
    match shared_statuses(setup, ctx) {
        Some(all) => all.clone(),
        None => compute_statuses(setup, ctx),
    }
}

/// Statuses follow from a revision's answers alone: made once for a
/// revision the store shares, unless values being submitted overlay them.
fn shared_statuses<'s>(setup: &'s Setup, ctx: &Ctx) -> Option<&'s Vec<PageStatus>> {
    if !ctx.overlay.is_empty() || ctx.setup.is_none_or(|s| !std::ptr::eq(s, setup)) {
        return None;
    }
    setup.derived(|| compute_statuses(setup, ctx))
}

fn compute_statuses(setup: &Setup, ctx: &Ctx) -> Vec<PageStatus> {
    let mut out: Vec<PageStatus> = Vec::with_capacity(PAGES.len());
    for p in PAGES {
        let s = status_with(p, setup, ctx, &out);
        out.push(s);
    }
    out
}

/// `earlier`: the statuses of the pages before this one (the check page's
/// status is derived from them).
fn status_with(page: &Page, setup: &Setup, ctx: &Ctx, earlier: &[PageStatus]) -> PageStatus {
    let blocked = page.requires.iter().any(|r| !setup.pages.contains_key(*r));
    let Some(rec) = setup.pages.get(page.id) else {
        return if blocked {
            PageStatus::CannotStartYet
        } else {
            PageStatus::NotStarted
        };
    };
    if let Some(p) = &rec.problem {
        return PageStatus::Problem(p.clone());
    }
    if page.id == CHECK_PAGE {
        let others_done =
            earlier.len() == PAGES.len() - 1 && earlier.iter().all(PageStatus::is_done);
        return if others_done {
            PageStatus::Completed
        } else {
            PageStatus::NeedsReview
        };
    }
    if !basis_matches(page, ctx, &rec.basis) {
        return PageStatus::NeedsReview;
    }
    let mut key = String::with_capacity(48);
    let incomplete = page.fields.iter().any(|f| match f.kind {
        Kind::Confirm(items) => items.iter().any(|(id, _)| {
            key.clear();
            key.push_str(f.key);
            key.push('.');
            key.push_str(id);
            !rec.data.contains_key(key.as_str())
        }),
        _ => !f.optional && !rec.data.contains_key(f.key),
    });
    if incomplete {
        PageStatus::InProgress
    } else {
        PageStatus::Completed
    }
}

/// (completed pages, all pages, overall status) for the setups list.
pub fn setup_progress(setup: &Setup, ctx: &Ctx) -> (usize, usize, PageStatus) {
    progress_of(setup, &statuses(setup, ctx))
}

/// What the setups list shows of a setup (stored beside it). Secrets are not
/// needed to tell progress, so none are revealed.
pub fn summarize(setup: &Setup) -> crate::store::Summary {
    let hidden = |_: &str| None;
    let ctx = Ctx::new(setup, &hidden, crate::fmt::now());
    let (done, total, overall) = setup_progress(setup, &ctx);
    crate::store::Summary {
        s4_host: ctx.get("s4_host").unwrap_or("").to_string(),
        status: overall.label().to_string(),
        done: done as i64,
        total: total as i64,
    }
}

/// Progress from statuses already computed.
pub fn progress_of(setup: &Setup, statuses: &[PageStatus]) -> (usize, usize, PageStatus) {
    let done = statuses.iter().filter(|s| s.is_done()).count();
    let overall = if done == statuses.len() {
        PageStatus::Completed
    } else if let Some(p) = statuses
        .iter()
        .find(|s| matches!(s, PageStatus::NeedsReview | PageStatus::Problem(_)))
    {
        p.clone()
    } else if setup.pages.is_empty() {
        PageStatus::NotStarted
    } else {
        PageStatus::InProgress
    };
    (done, statuses.len(), overall)
}
