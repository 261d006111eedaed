//! The relocation table: every change the rebaser made, at the input module's offsets, as data
//! (JSON through serde) and as a listing.

use std::fmt;

use serde::Serialize;

/// Everything [`rebase`](crate::rebase) changed in a module.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Relocations {
    /// The segment's first byte in the whole memory.
    pub base: u64,
    /// The segment's size in bytes.
    pub size: u64,
    /// Whether accesses are bounds-checked.
    pub bounds_checks: bool,
    /// Whether accesses are masked into the segment ([`RewriteOptions::masking`](crate::RewriteOptions::masking)).
    pub masking: bool,
    /// The shared regions the module may also reach, as module-relative addresses (absolute
    /// address minus `base`), with what it may do there.
    pub shared: Vec<crate::Shared>,
    /// The global added for the segment's current page count (i32), if the module grows its
    /// memory.
    pub pages_global: Option<u32>,
    /// The global added next to it with the module's memory in bytes (i64, for the checks).
    pub bytes_global: Option<u32>,
    /// The trap global (i64), exported as [`TRAP_EXPORT`](crate::TRAP_EXPORT), if anything
    /// checks (bounds checks, or a bulk instruction's helper): 0 until a check stops the module,
    /// then the [`TrapKind`](crate::TrapKind) and address it records before trapping
    /// ([`TrapKind::decode`](crate::TrapKind::decode)).
    pub trap_global: Option<u32>,
    /// The functions added, in index order after the module's own.
    pub helpers: Vec<Helper>,
    /// How many changes of each kind were made: counted whether or not they are listed.
    pub counts: Counts,
    /// Every change, in module order; empty unless
    /// [`RewriteOptions::relocation_entries`](crate::RewriteOptions::relocation_entries) is on.
    pub entries: Vec<Relocation>,
}

/// How many changes of each kind a rewrite made, one per [`Relocation`] it lists or would list.
#[derive(Clone, Default, PartialEq, Eq, Debug, Serialize)]
pub struct Counts {
    /// Memory instructions whose static offset moved ([`RelocationKind::Memarg`]).
    pub memargs: u64,
    /// Of those, the ones a bounds check now guards.
    pub checked: u64,
    /// Of those, the ones whose address is now masked into the segment.
    pub masked: u64,
    /// Memory instructions that became `unreachable` ([`RelocationKind::Trap`]).
    pub traps: u64,
    /// `memory.size` instructions replaced ([`RelocationKind::Pages`]).
    pub pages: u64,
    /// `memory.grow` and bulk instructions that now call a helper ([`RelocationKind::Call`]).
    pub calls: u64,
    /// Active data segments moved ([`RelocationKind::Data`]).
    pub data: u64,
    /// Memory declarations changed ([`RelocationKind::Memory`]).
    pub memories: u64,
    /// The custom sections left out, by name ([`RelocationKind::Dropped`]).
    pub dropped: Vec<String>,
}

impl Counts {
    /// Counts one change.
    pub(crate) fn add(&mut self, change: &RelocationKind) {
        match change {
            RelocationKind::Memarg { checked, masked, .. } => {
                self.memargs += 1;
                self.checked += u64::from(*checked);
                self.masked += u64::from(*masked);
            }
            RelocationKind::Trap { .. } => self.traps += 1,
            RelocationKind::Pages { .. } => self.pages += 1,
            RelocationKind::Call { .. } => self.calls += 1,
            RelocationKind::Data { .. } => self.data += 1,
            RelocationKind::Memory { .. } => self.memories += 1,
            RelocationKind::Dropped { section } => self.dropped.push(section.clone()),
        }
    }

    /// The changes counted, of every kind.
    pub fn total(&self) -> u64 {
        self.memargs
            + self.traps
            + self.pages
            + self.calls
            + self.data
            + self.memories
            + self.dropped.len() as u64
    }

    /// Adds `other`'s counts to these.
    pub(crate) fn merge(&mut self, other: Counts) {
        self.memargs += other.memargs;
        self.checked += other.checked;
        self.masked += other.masked;
        self.traps += other.traps;
        self.pages += other.pages;
        self.calls += other.calls;
        self.data += other.data;
        self.memories += other.memories;
        self.dropped.extend(other.dropped);
    }
}

/// A function the rebaser added.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Helper {
    /// Its index.
    pub function: u32,
    /// What it does: the instruction it stands for (`memory.grow`, `memory.copy`,
    /// `memory.fill`, `memory.init 2`) or `shared-check`.
    pub name: String,
}

/// One change.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Relocation {
    /// The function it is in, for an instruction.
    pub function: Option<u32>,
    /// The byte offset of what changed, in the input module.
    pub offset: u64,
    /// What changed.
    #[serde(flatten)]
    pub change: RelocationKind,
}

/// What changed at one place.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RelocationKind {
    /// A memory instruction's static offset moved by the base.
    Memarg {
        /// The instruction.
        instruction: &'static str,
        /// Its static offset before.
        old_offset: u64,
        /// And after.
        new_offset: u64,
        /// Whether a bounds check now runs before it.
        checked: bool,
        /// Whether its address is now masked into the segment (its offset folded into the
        /// address first, so `new_offset` is the base).
        masked: bool,
    },
    /// A memory instruction whose offset plus the base lies past 4 GiB: it could only ever trap,
    /// and does, as `unreachable`.
    Trap {
        /// The instruction.
        instruction: &'static str,
        /// Its static offset.
        old_offset: u64,
    },
    /// `memory.size` now reads the segment's page count.
    Pages {
        /// The global it reads, or `None` if the count is the constant `pages` (the module never
        /// grows its memory).
        global: Option<u32>,
        /// The page count (the initial one if it can grow).
        pages: u64,
    },
    /// A `memory.grow` or bulk instruction now calls a helper.
    Call {
        /// The instruction.
        instruction: &'static str,
        /// The helper it calls.
        helper: u32,
    },
    /// An active data segment moved.
    Data {
        /// Its index.
        segment: u32,
        /// Its address before.
        old_address: u64,
        /// And after.
        new_address: u64,
    },
    /// A custom section left out: it holds code offsets, which the rewrite moves (DWARF
    /// `.debug_*`, `sourceMappingURL`, code metadata such as branch hints, `linking` and
    /// `reloc.*`).
    Dropped {
        /// Its name.
        section: String,
    },
    /// The memory's declaration now covers the whole memory the segment lies in.
    Memory {
        /// An imported memory.
        imported: bool,
        /// Initial pages before.
        old_initial: u64,
        /// Maximum pages before.
        old_maximum: Option<u64>,
        /// Initial pages after.
        new_initial: u64,
        /// Maximum pages after.
        new_maximum: Option<u64>,
    },
}

impl Relocations {
    /// The table as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// `Some(n)` as `n`, `None` as `none`.
struct Maybe(Option<u64>);

impl fmt::Display for Maybe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("none"),
        }
    }
}

impl fmt::Display for Relocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let checks = match (self.bounds_checks, self.masking) {
            (_, true) => "addresses masked",
            (true, false) => "bounds checks on",
            (false, false) => "bounds checks off",
        };
        writeln!(
            f,
            "segment [{:#x}, {:#x}) ({} pages), {checks}",
            self.base,
            self.base + self.size,
            self.size / crate::PAGE
        )?;
        for r in &self.shared {
            let access = if r.access.writable() { "read-write" } else { "read-only" };
            writeln!(
                f,
                "shared region at module addresses [{:#x}, {:#x}), {access}",
                r.range.start, r.range.end
            )?;
        }
        if let Some(g) = self.pages_global {
            writeln!(f, "added global {g}: the module's current pages")?;
        }
        if let Some(g) = self.bytes_global {
            writeln!(f, "added global {g}: the module's current bytes")?;
        }
        for h in &self.helpers {
            writeln!(f, "added function {}: {}", h.function, h.name)?;
        }
        for e in &self.entries {
            writeln!(f, "{e}")?;
        }
        let counted = self.counts.total();
        if self.entries.is_empty() && counted > 0 {
            writeln!(f, "{counted} changes, not listed")?;
        }
        Ok(())
    }
}

impl fmt::Display for Relocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = match self.function {
            Some(func) => format!("func {func}"),
            None => String::new(),
        };
        write!(f, "{place:<10} @{:#08x}  ", self.offset)?;
        match &self.change {
            RelocationKind::Memarg { instruction, old_offset, new_offset, checked, masked } => {
                let checked = match (checked, masked) {
                    (true, _) => "  checked",
                    (false, true) => "  masked",
                    (false, false) => "",
                };
                write!(f, "{instruction:<26} offset {old_offset:#x} -> {new_offset:#x}{checked}")
            }
            RelocationKind::Trap { instruction, old_offset } => {
                write!(f, "{instruction:<26} offset {old_offset:#x} -> unreachable (past 4 GiB)")
            }
            RelocationKind::Pages { global: Some(g), pages } => {
                write!(f, "{:<26} -> global.get {g} (initially {pages})", "memory.size")
            }
            RelocationKind::Pages { global: None, pages } => {
                write!(f, "{:<26} -> i32.const {pages}", "memory.size")
            }
            RelocationKind::Call { instruction, helper } => write!(f, "{instruction:<26} -> call {helper}"),
            RelocationKind::Data { segment, old_address, new_address } => {
                write!(f, "{:<26} address {old_address:#x} -> {new_address:#x}", format!("data {segment}"))
            }
            RelocationKind::Dropped { section } => {
                write!(f, "{:<26} dropped (it holds code offsets)", format!("custom section {section}"))
            }
            RelocationKind::Memory { imported, old_initial, old_maximum, new_initial, new_maximum } => {
                let what = if *imported { "memory (imported)" } else { "memory" };
                write!(
                    f,
                    "{what:<26} pages {old_initial}..{} -> {new_initial}..{}",
                    Maybe(*old_maximum),
                    Maybe(*new_maximum)
                )
            }
        }
    }
}
