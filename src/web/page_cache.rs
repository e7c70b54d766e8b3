//! Rendered setup pages kept per setup revision and viewer: a page is rendered
//! once per change of its setup, then served from memory until the next one.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use askama::Template;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::store::{Setup, User};

/// What a cached page was rendered from. Every input of the cached views is
/// here: the setup at one revision (answers, members, name, archive state),
/// who views it (header, edit rights) and the day (certificate warnings count
/// days). Requests with a query string are never cached.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Key {
    setup: String,
    rev: i64,
    user: i64,
    name: String,
    admin: bool,
    view: &'static str,
    page: String,
    day: i64,
    /// The customer's other systems as of their latest change (a task list
    /// shows which shared pages they changed): 0 when it has none.
    landscape: u64,
}

impl Key {
    pub fn new(setup: &Setup, me: &User, view: &'static str, page: &str, now: i64) -> Self {
        Key {
            setup: setup.id.clone(),
            rev: setup.rev,
            user: me.id,
            name: me.name.clone(),
            admin: me.is_admin,
            view,
            page: page.to_string(),
            day: now.div_euclid(86_400),
            landscape: 0,
        }
    }

    /// The same page while the customer's other systems are as `stamp`
    /// says (`Store::landscape_stamp`).
    pub fn with_landscape(self, stamp: Option<u64>) -> Self {
        Key {
            landscape: stamp.unwrap_or(0),
            ..self
        }
    }
}

impl Key {
    /// The setups list as `me` asked for it (`query`), while no setup changed.
    pub fn list(me: &User, generation: u64, query: &str, now: i64) -> Self {
        Key {
            setup: String::new(),
            rev: generation as i64,
            user: me.id,
            name: me.name.clone(),
            admin: me.is_admin,
            view: "list",
            page: query.to_string(),
            day: now.div_euclid(86_400),
            landscape: 0,
        }
    }
}

/// What one section of a page (a check-your-answers section: one page's
/// answers) was rendered from. Sections are the same for every viewer, so
/// the first view after a change renders only the sections it changed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SectionKey {
    setup: String,
    page: &'static str,
    /// The page's answers as saved: their version and when.
    version: i64,
    saved_at: i64,
    status: &'static str,
    /// A section that may read other pages (a summary of derived values, a
    /// secret's mask) is kept for one revision of the whole setup and one
    /// day only.
    rev: i64,
    day: i64,
}

impl SectionKey {
    pub fn new(
        setup: &Setup,
        page: &'static crate::playbook::Page,
        status: &'static str,
        now: i64,
    ) -> Self {
        let rec = setup.pages.get(page.id);
        // A summary reads derived values; a secret's mask is looked up by
        // its key, wherever the answers hold it (a flow may fill it in).
        let reads_others = page.summary.is_some()
            || page
                .fields
                .iter()
                .any(|f| f.kind == crate::playbook::Kind::Secret);
        SectionKey {
            setup: setup.id.clone(),
            page: page.id,
            version: rec.map_or(0, |r| r.version),
            saved_at: rec.map_or(0, |r| r.updated_at),
            status,
            rev: if reads_others { setup.rev } else { 0 },
            day: if reads_others {
                now.div_euclid(86_400)
            } else {
                0
            },
        }
    }
}

struct Entry {
    body: Bytes,
    used: AtomicU64,
}

/// The buffer a page is rendered into (the largest setup pages are ~20 KB).
const RENDER_BUFFER: usize = 24 * 1024;

/// At most `capacity` pages (0: off); the least recently used leaves first.
// Not moka: a page's key holds its setup's revision, so a change is a miss by
// construction and nothing is invalidated; what is left (the bound, the single
// flight, sections under the same bound) is short and tested here, where moka
// would add its dependency tree (crossbeam among it) for the same behaviour.
pub struct PageCache {
    capacity: usize,
    pages: RwLock<HashMap<Key, Entry>>,
    clock: AtomicU64,
    /// Pages being rendered: who asks for one meanwhile waits for it instead
    /// of rendering it again (a burst on a slow page, such as a text search
    /// over every setup, costs one render).
    rendering: std::sync::Mutex<HashMap<Key, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    /// Rendered sections by setup, then page (`SectionKey`).
    sections: RwLock<HashMap<String, SetupSections>>,
}

#[derive(Default)]
struct SetupSections {
    used: AtomicU64,
    sections: HashMap<&'static str, (SectionKey, std::sync::Arc<str>)>,
}

impl PageCache {
    pub fn new(capacity: usize) -> Self {
        PageCache {
            capacity,
            pages: RwLock::new(HashMap::new()),
            clock: AtomicU64::new(0),
            rendering: std::sync::Mutex::new(HashMap::new()),
            sections: RwLock::new(HashMap::new()),
        }
    }

    /// The kept section for `key`, else the one `make` builds, rendered (and kept).
    pub fn section<T: Template>(
        &self,
        key: SectionKey,
        make: impl FnOnce() -> T,
    ) -> super::error::Result<std::sync::Arc<str>> {
        let tick = || self.clock.fetch_add(1, Ordering::Relaxed);
        if let Ok(kept) = self.sections.read()
            && let Some(of_setup) = kept.get(&key.setup)
            && let Some((k, body)) = of_setup.sections.get(key.page)
            && *k == key
        {
            of_setup.used.store(tick(), Ordering::Relaxed);
            return Ok(body.clone());
        }
        let body: std::sync::Arc<str> = make().render().map_err(anyhow::Error::from)?.into();
        if self.capacity > 0
            && let Ok(mut kept) = self.sections.write()
        {
            // The sections of at most `capacity` setups: the least recently
            // viewed setup's leave first.
            if !kept.contains_key(&key.setup)
                && kept.len() >= self.capacity
                && let Some(oldest) = kept
                    .iter()
                    .min_by_key(|(_, s)| s.used.load(Ordering::Relaxed))
                    .map(|(id, _)| id.clone())
            {
                kept.remove(&oldest);
            }
            let of_setup = kept.entry(key.setup.clone()).or_default();
            of_setup.used.store(tick(), Ordering::Relaxed);
            // An older version of the section is never asked for again.
            of_setup.sections.insert(key.page, (key, body.clone()));
        }
        Ok(body)
    }

    /// Kept sections, all setups together.
    pub fn sections(&self) -> usize {
        self.sections
            .read()
            .map_or(0, |k| k.values().map(|s| s.sections.len()).sum())
    }

    pub fn get(&self, key: &Key) -> Option<Response> {
        let pages = self.pages.read().ok()?;
        let e = pages.get(key)?;
        e.used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        Some(html(e.body.clone()))
    }

    /// Render a page and answer with it; kept when it has a key.
    pub fn render(&self, key: Option<Key>, page: &impl Template) -> super::error::Result<Response> {
        // Setup pages are 3-20 KB: one buffer of that size, not a dozen regrowths.
        let mut out = String::with_capacity(RENDER_BUFFER);
        page.render_into(&mut out).map_err(anyhow::Error::from)?;
        let body = Bytes::from(out);
        if let Some(key) = key
            && self.capacity > 0
            && let Ok(mut pages) = self.pages.write()
        {
            // Older revisions of the same view are never asked for again.
            pages.retain(|k, _| !(k.setup == key.setup && k.rev < key.rev));
            if pages.len() >= self.capacity
                && let Some(oldest) = pages
                    .iter()
                    .min_by_key(|(_, e)| e.used.load(Ordering::Relaxed))
                    .map(|(k, _)| k.clone())
            {
                pages.remove(&oldest);
            }
            let used = AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed));
            pages.insert(
                key,
                Entry {
                    body: body.clone(),
                    used,
                },
            );
        }
        Ok(html(body))
    }

    /// The kept page for `key`, else one render of `make`'s page for all who
    /// ask at the same time. Without a key (or with the cache off) it renders.
    pub async fn get_or_render<T, F>(
        &self,
        key: Option<Key>,
        make: F,
    ) -> super::error::Result<Response>
    where
        T: Template,
        F: std::future::Future<Output = super::error::Result<T>>,
    {
        let Some(key) = key.filter(|_| self.capacity > 0) else {
            return self.render(None, &make.await?);
        };
        if let Some(hit) = self.get(&key) {
            return Ok(hit);
        }
        let flight = self
            .rendering
            .lock()
            .ok()
            .map(|mut r| r.entry(key.clone()).or_default().clone());
        let Some(flight) = flight else {
            return self.render(Some(key), &make.await?);
        };
        let _turn = flight.lock().await;
        let out = match self.get(&key) {
            Some(hit) => Ok(hit),
            None => match make.await {
                Ok(page) => self.render(Some(key.clone()), &page),
                Err(e) => Err(e),
            },
        };
        // The page is kept now (or failed): whoever still waits on this
        // flight finds it kept; a later request starts from the cache.
        if let Some(mut r) = self.rendering.lock().ok()
            && r.get(&key)
                .is_some_and(|f| std::sync::Arc::ptr_eq(f, &flight))
        {
            r.remove(&key);
        }
        drop(_turn);
        out
    }

    pub fn len(&self) -> usize {
        self.pages.read().map_or(0, |p| p.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn html(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Template)]
    #[template(source = "<p>{{ text }}</p>", ext = "html")]
    struct P<'a> {
        text: &'a str,
    }

    fn setup(id: &str, rev: i64) -> Setup {
        Setup {
            id: id.into(),
            name: "ACME".into(),
            archived: false,
            created_at: 0,
            updated_at: 0,
            owner_id: Some(1),
            customer_id: format!("c{id}"),
            members: Vec::new(),
            pages: Default::default(),
            rev,
            index: Default::default(),
        }
    }

    fn user(id: i64, name: &str) -> User {
        User {
            id,
            name: name.into(),
            is_admin: false,
        }
    }

    async fn body(r: Response) -> String {
        let b = axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        String::from_utf8_lossy(&b).into_owned()
    }

    #[tokio::test]
    async fn a_page_is_reused_only_for_its_revision_viewer_and_day_and_the_cache_stays_bounded() {
        let cache = PageCache::new(3);
        let (alice, bob) = (user(1, "alice"), user(2, "bob"));
        let now = 1_790_000_000;
        let k = |s: &Setup, u: &User, page: &str, now: i64| Key::new(s, u, "page", page, now);
        let s1 = setup("a", 1);
        let r = cache.render(Some(k(&s1, &alice, "facts", now)), &P { text: "one" });
        assert_eq!(body(r.unwrap_or_default()).await, "<p>one</p>");
        let hit = cache.get(&k(&s1, &alice, "facts", now + 60));
        assert_eq!(body(hit.unwrap_or_default()).await, "<p>one</p>");
        // Another viewer, another revision, another page, the next day: misses.
        assert!(cache.get(&k(&s1, &bob, "facts", now)).is_none());
        assert!(
            cache
                .get(&k(&setup("a", 2), &alice, "facts", now))
                .is_none()
        );
        assert!(cache.get(&k(&s1, &alice, "step-1", now)).is_none());
        assert!(cache.get(&k(&s1, &alice, "facts", now + 86_400)).is_none());
        assert!(
            cache
                .get(&k(&setup("b", 1), &alice, "facts", now))
                .is_none()
        );
        // Without a key nothing is kept.
        let _ = cache.render(None, &P { text: "x" });
        assert_eq!(cache.len(), 1);
        // A newer revision drops the older ones of that setup.
        let _ = cache.render(Some(k(&s1, &bob, "facts", now)), &P { text: "b" });
        let _ = cache.render(
            Some(k(&setup("a", 2), &alice, "facts", now)),
            &P { text: "two" },
        );
        assert_eq!(cache.len(), 1);
        // Bounded: the least recently used leaves first.
        let _ = cache.render(
            Some(k(&setup("b", 1), &alice, "facts", now)),
            &P { text: "b" },
        );
        let _ = cache.render(
            Some(k(&setup("c", 1), &alice, "facts", now)),
            &P { text: "c" },
        );
        assert!(
            cache
                .get(&k(&setup("a", 2), &alice, "facts", now))
                .is_some()
        );
        let _ = cache.render(
            Some(k(&setup("d", 1), &alice, "facts", now)),
            &P { text: "d" },
        );
        assert_eq!(cache.len(), 3);
        assert!(
            cache
                .get(&k(&setup("b", 1), &alice, "facts", now))
                .is_none(),
            "b was least recently used"
        );
        assert!(
            cache
                .get(&k(&setup("a", 2), &alice, "facts", now))
                .is_some()
        );
        // Capacity 0: nothing is kept.
        let off = PageCache::new(0);
        let _ = off.render(Some(k(&s1, &alice, "facts", now)), &P { text: "one" });
        assert!(off.is_empty());
    }

    #[test]
    fn a_section_is_rendered_again_only_when_its_page_or_status_changed() {
        use std::cell::Cell;
        let cache = PageCache::new(2);
        let now = 1_790_000_000;
        let renders = Cell::new(0);
        let render = |s: &Setup, page: &'static crate::playbook::Page, status| {
            cache
                .section(SectionKey::new(s, page, status, now), || {
                    renders.set(renders.get() + 1);
                    P { text: "section" }
                })
                .map(|b| b.to_string())
                .unwrap_or_default()
        };
        let (step1, step32) = (
            crate::playbook::page(crate::playbook::ids::SUBACCOUNT).unwrap(),
            crate::playbook::page(crate::playbook::ids::TRUST_CERTIFICATE).unwrap(),
        );
        assert!(step1.summary.is_none() && step32.summary.is_some());
        let record = |version| crate::store::PageRecord {
            data: Default::default(),
            version,
            basis: String::new(),
            problem: None,
            checked_note: None,
            checked_at: None,
            updated_at: 5,
            updated_by: "alice".into(),
        };
        let mut s = setup("a", 1);
        s.pages.insert(step1.id.into(), record(1));
        assert_eq!(render(&s, step1, "Completed"), "<p>section</p>");
        render(&s, step1, "Completed");
        assert_eq!(renders.get(), 1, "kept");
        // Another page of the setup changed (a new revision): kept.
        s.rev = 2;
        render(&s, step1, "Completed");
        assert_eq!(renders.get(), 1);
        // Its status or its own answers changed: rendered again.
        render(&s, step1, "Needs review");
        s.pages.insert(step1.id.into(), record(2));
        render(&s, step1, "Needs review");
        assert_eq!(renders.get(), 3);
        // A section with a summary reads other pages: one per revision.
        render(&s, step32, "Completed");
        render(&s, step32, "Completed");
        s.rev = 3;
        render(&s, step32, "Completed");
        assert_eq!(renders.get(), 5);
        // So does one with a secret (its mask is looked up by key).
        let comm = crate::playbook::page(crate::playbook::ids::COMM_USER).unwrap();
        assert!(
            comm.summary.is_none()
                && comm
                    .fields
                    .iter()
                    .any(|f| f.kind == crate::playbook::Kind::Secret)
        );
        render(&s, comm, "Completed");
        s.rev = 4;
        render(&s, comm, "Completed");
        assert_eq!(renders.get(), 7);
        // The sections of at most `capacity` setups; 0 keeps none.
        render(&setup("b", 1), step1, "Completed");
        render(&setup("c", 1), step1, "Completed");
        assert_eq!(cache.sections(), 2, "setup a's sections left first");
        let off = PageCache::new(0);
        let _ = off.section(SectionKey::new(&s, step1, "Completed", now), || P {
            text: "x",
        });
        assert_eq!(off.sections(), 0);
    }

    /// Twenty requests for the same page at once: one render, twenty answers;
    /// afterwards nothing is left waiting in the map.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_misses_renders_the_page_once() {
        use std::sync::Arc;
        use std::sync::atomic::AtomicUsize;
        let cache = Arc::new(PageCache::new(8));
        let renders = Arc::new(AtomicUsize::new(0));
        let key = Key::list(&user(1, "alice"), 7, "q=my004242", 1_790_000_000);
        let gate = Arc::new(tokio::sync::Barrier::new(20));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (cache, renders, key, gate) =
                    (cache.clone(), renders.clone(), key.clone(), gate.clone());
                tokio::spawn(async move {
                    gate.wait().await;
                    let r = cache
                        .get_or_render(Some(key), async {
                            renders.fetch_add(1, Ordering::SeqCst);
                            // A slow render (a search over every setup).
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            Ok(P { text: "found" })
                        })
                        .await;
                    body(r.unwrap_or_default()).await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap_or_default(), "<p>found</p>");
        }
        assert_eq!(renders.load(Ordering::SeqCst), 1);
        assert!(cache.rendering.lock().is_ok_and(|r| r.is_empty()));
        // Without a key every request renders.
        let _ = cache
            .get_or_render(None, async {
                renders.fetch_add(1, Ordering::SeqCst);
                Ok(P { text: "x" })
            })
            .await;
        assert_eq!(renders.load(Ordering::SeqCst), 2);
    }
}
