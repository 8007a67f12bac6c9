//! Data parallelism without a scheduler: a slice cut into one contiguous share per
//! core ([`map_shares`]), or its items taken one at a time by the next free core
//! ([`map_each`]), on scoped threads; the results are put back in item order. What a
//! caller computes therefore never depends on the thread count (tests set
//! `TRELLIS_THREADS` to prove it).
//!
//! Used by the parser (files, and the lock beside them, each taken by the next free
//! core: they differ in size), the emitters (blocks of objects, each taken by the
//! next free core: [`flat_map`]) and the output writer (one share of files per
//! core); [`join`] runs two independent pieces of work at once (the two
//! halves of `check`).

/// How many threads to use: `TRELLIS_THREADS` when set to a number, else the number
/// of cores; at least 1.
pub fn threads() -> usize {
    std::env::var("TRELLIS_THREADS")
        .ok()
        .and_then(|t| t.parse::<usize>().ok())
        .or_else(|| std::thread::available_parallelism().map(usize::from).ok())
        .unwrap_or(1)
        .max(1)
}

/// Runs `f` on [`threads`] contiguous shares of `items` at once (the calling thread
/// takes the first) and returns its results in the order of the shares. Runs on
/// the calling thread alone when there is one thread or at most one item. A panic
/// in a share is resumed on the calling thread, as if the work had run there:
/// nothing is silently lost.
pub fn map_shares<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&[T]) -> R + Sync,
{
    let threads = threads().min(items.len()).max(1);
    if threads == 1 {
        return vec![f(items)];
    }
    let share = items.len().div_ceil(threads);
    // The calling thread takes the first share: one thread fewer to start.
    let mut chunks = items.chunks(share);
    let first = chunks.next().unwrap_or_default();
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .map(|chunk| {
                let f = &f;
                spawn(scope, move || f(chunk))
            })
            .collect();
        let mut out = Vec::with_capacity(threads);
        out.push(f(first));
        out.extend(handles.into_iter().map(wait));
        out
    })
}

/// Starts `f` on a worker thread of `scope`, with a [`STACK`]-byte stack.
fn spawn<'scope, R: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    f: impl FnOnce() -> R + Send + 'scope,
) -> std::io::Result<std::thread::ScopedJoinHandle<'scope, R>> {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn_scoped(scope, f)
}

/// What a worker started by [`spawn`] returned; its panic is resumed on the calling
/// thread, as if the work had run there.
fn wait<R>(handle: std::io::Result<std::thread::ScopedJoinHandle<'_, R>>) -> R {
    match handle {
        Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
        // Only when the system is out of threads or memory: a failure of the whole
        // run, as a panic on the calling thread would be.
        Err(e) => panic!("cannot start a worker thread: {e}"),
    }
}

/// The stack of each worker: the parser's fall-back (the `kdl` crate) recurses, and
/// the command line gives its own thread 64 MiB for the same reason. Only what is
/// touched is ever allocated.
const STACK: usize = 32 * 1024 * 1024;

/// Runs `a` and `b` at once (`a` on a worker thread) and returns both results; one
/// after the other when there is one thread. A panic in either is resumed on the
/// calling thread.
pub fn join<A, B, FA, FB>(a: FA, b: FB) -> (A, B)
where
    A: Send,
    FA: FnOnce() -> A + Send,
    FB: FnOnce() -> B,
{
    if threads() == 1 {
        return (a(), b());
    }
    std::thread::scope(|scope| {
        let handle = spawn(scope, a);
        let b = b();
        (wait(handle), b)
    })
}

/// Runs `f` on every item, each item taken by the next free thread ([`threads`] of
/// them, the calling thread among them), and returns the results in item order. For
/// items of uneven cost, where contiguous shares would leave a core idle.
pub fn map_each<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    map_each_beside(|| (), items, f).1
}

/// [`map_each`] with one more job, `first`, which is not an item (reading
/// `trellis.lock` beside the sources): it is taken before any item, by the first free
/// thread, and its result is returned beside the items'. One after the other, `first`
/// first, when there is one thread.
pub fn map_each_beside<T, R, B, F, FB>(first: FB, items: &[T], f: F) -> (B, Vec<R>)
where
    T: Sync,
    R: Send,
    B: Send,
    F: Fn(&T) -> R + Sync,
    FB: FnOnce() -> B + Send,
{
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let threads = threads().min(items.len() + 1);
    if threads <= 1 {
        let b = first();
        return (b, items.iter().map(f).collect());
    }
    // Job 0 is `first`; job i + 1 is item i.
    let next = AtomicUsize::new(0);
    let first = Mutex::new(Some(first));
    let work = || {
        let mut b = None;
        let mut done = Vec::new();
        loop {
            let job = next.fetch_add(1, Ordering::Relaxed);
            if job == 0 {
                let taken = first.lock().map(|mut f| f.take()).unwrap_or_default();
                b = taken.map(|first| first());
            } else if let Some(item) = items.get(job - 1) {
                done.push((job - 1, f(item)));
            } else {
                return (b, done);
            }
        }
    };
    let parts: Vec<Part<B, R>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|_| spawn(scope, work)).collect();
        let mine = work();
        let mut parts: Vec<_> = handles.into_iter().map(wait).collect();
        parts.push(mine);
        parts
    });
    let mut b = None;
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    for (part_b, done) in parts {
        b = b.or(part_b);
        for (i, r) in done {
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(r);
            }
        }
    }
    // Every job was taken exactly once, by the counter.
    match b {
        Some(b) => (b, slots.into_iter().flatten().collect()),
        None => unreachable!("the first job is always taken"),
    }
}

/// What one thread of [`map_each_beside`] did: `first`'s result if it took it, and
/// the items it took, with their indices.
type Part<B, R> = (Option<B>, Vec<(usize, R)>);

/// For work that yields a list per item: the lists of all items, concatenated in
/// item order; the items go in blocks to the next free core ([`map_each`]).
pub fn flat_map<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Vec<R> + Sync,
{
    // Blocks of items, each taken by the next free core: a share fixed in advance
    // leaves a core idle whenever the other is slowed. A few blocks per core at
    // least: a list of five clusters is five blocks. Each block's list is sized up
    // front, and so is the whole ([`concat`]).
    let block = (items.len() / (8 * threads())).clamp(1, BLOCK);
    let blocks: Vec<&[T]> = items.chunks(block).collect();
    let lists = map_each(&blocks, |block| {
        let mut out = Vec::with_capacity(block.len());
        for item in *block {
            out.extend(f(item));
        }
        out
    });
    concat(lists)
}

/// The lists, one after the other, in a list sized up front, not grown: at 10,000
/// services these lists are tens of thousands long, and in this allocator each
/// step of growth lands on fresh memory, which the kernel must zero
/// (docs/performance.md).
pub fn concat<T>(lists: Vec<Vec<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    for mut list in lists {
        out.append(&mut list);
    }
    out
}

/// How many items of [`flat_map`] a core takes at a time, at most.
const BLOCK: usize = 128;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_item_order() {
        let items: Vec<u32> = (0..1000).collect();
        let out = flat_map(&items, |i| vec![*i, *i]);
        let want: Vec<u32> = items.iter().flat_map(|i| [*i, *i]).collect();
        assert_eq!(out, want);
        assert_eq!(map_shares(&[] as &[u32], |s| s.len()), vec![0]);
        // Lists of uneven length, and a list shorter than a block per core.
        let uneven = flat_map(&items, |i| vec![*i; (*i % 3) as usize]);
        let want: Vec<u32> = items
            .iter()
            .flat_map(|i| std::iter::repeat_n(*i, (*i % 3) as usize))
            .collect();
        assert_eq!(uneven, want);
        assert_eq!(flat_map(&[1u32, 2, 3], |i| vec![*i]), vec![1, 2, 3]);
        // Shares in order, the calling thread's first.
        let firsts = map_shares(&items, |share| share.first().copied());
        assert!(
            firsts.is_sorted() && firsts.iter().all(Option::is_some),
            "{firsts:?}"
        );
        assert_eq!(firsts.first(), Some(&Some(0)));
    }

    #[test]
    fn join_returns_both_in_order() {
        assert_eq!(join(|| 1, || "b"), (1, "b"));
        assert!(std::panic::catch_unwind(|| join(|| panic!("a"), || 2)).is_err());
    }

    #[test]
    fn each_item_once_in_item_order() {
        let items: Vec<u32> = (0..1000).collect();
        // Uneven costs, so that threads take items out of order.
        let (b, out) = map_each_beside(
            || "first",
            &items,
            |i| {
                if i % 7 == 0 {
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
                i * 2
            },
        );
        assert_eq!(b, "first");
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(map_each(&[] as &[u32], |i| *i), Vec::<u32>::new());
        assert!(std::panic::catch_unwind(|| map_each(&items, |i| assert!(*i != 500))).is_err());
    }

    #[test]
    fn a_panic_in_a_share_reaches_the_caller() {
        let items: Vec<u32> = (0..100).collect();
        let caught = std::panic::catch_unwind(|| {
            flat_map(&items, |i| {
                assert!(*i != 99, "boom");
                vec![*i]
            })
        });
        assert!(caught.is_err());
        // In the calling thread's own share too.
        let caught = std::panic::catch_unwind(|| {
            map_shares(&items, |share| assert!(!share.contains(&0), "boom"))
        });
        assert!(caught.is_err());
    }
}
