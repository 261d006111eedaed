//! What the set-up asks of apt, decided from what the machine has and what apt offers.
//!
//! Everything here is pure: it reads the text of `dpkg-query`, `apt-cache policy` and
//! `apt-get -s install` and returns a decision, so that each machine state the set-up must cope
//! with is tested on recorded output (`testdata/`). [`super`] runs the commands.
//!
//! Versions are pinned by their upstream part (`7.2` matches Debian's `1:7.2+dfsg-7+deb12u18`),
//! never by a Debian revision, which the archive replaces at every security update. Where the
//! machine already has another version of a package, only the packages of a [`Family`] may be
//! replaced, downgraded or removed; any other conflict stops the set-up with a sentence naming
//! the package.

use std::fmt::Write as _;
use std::str::FromStr;

use debversion::Version;

/// A Debian package the project needs.
#[derive(Debug, PartialEq, Eq)]
pub struct Apt {
    /// The package.
    pub name: &'static str,
    /// The upstream version it must have (`1.96` matches 1.96.0 and 1.96.1), where one is
    /// required.
    pub version: Option<&'static str>,
    /// What it is for.
    pub why: &'static str,
}

/// Packages built from one Debian source that must all stay at one upstream version, and that
/// the set-up may therefore replace, downgrade or remove when the machine has another version.
#[derive(Debug, PartialEq, Eq)]
pub struct Family {
    /// The Debian source package (`qemu`).
    pub source: &'static str,
    /// The upstream version its packages must have.
    pub version: &'static str,
    /// Why that version.
    pub why: &'static str,
}

/// One installed package, from `dpkg-query`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// The package.
    pub name: String,
    /// Its Debian source package.
    pub source: String,
    /// Its full Debian version.
    pub version: String,
    /// The virtual packages it provides.
    pub provides: Vec<String>,
}

/// The `dpkg-query -W` format [`parse_installed`] reads.
pub const DPKG_FORMAT: &str =
    "-f=${Package}\t${source:Package}\t${Version}\t${db:Status-Abbrev}\t${Provides}\n";

/// The fully installed packages of a `dpkg-query -W` listing in [`DPKG_FORMAT`].
pub fn parse_installed(listing: &str) -> Vec<Installed> {
    listing
        .lines()
        .filter_map(|line| {
            let mut f = line.split('\t');
            let (name, source, version, status) = (f.next()?, f.next()?, f.next()?, f.next()?);
            let provides = f.next().unwrap_or_default();
            (status.trim() == "ii").then(|| Installed {
                name: name.to_string(),
                source: if source.is_empty() { name.to_string() } else { source.to_string() },
                version: version.to_string(),
                provides: provides
                    .split(',')
                    // `npm (= 9.2.0)`: the name, without the version.
                    .filter_map(|p| p.split_whitespace().next())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

/// What `apt-cache policy` says of one package.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// The package.
    pub name: String,
    /// The versions an archive serves, newest first (a version known only from the dpkg status
    /// file, such as one installed from a suite no longer in apt's sources, is not one).
    pub available: Vec<String>,
}

/// Every package of an `apt-cache policy NAME...` listing.
pub fn parse_policy(text: &str) -> Vec<Policy> {
    let mut out: Vec<Policy> = Vec::new();
    // The version whose sources are being read, and whether an archive serves it.
    let mut current: Option<(String, bool)> = None;
    let finish = |out: &mut Vec<Policy>, current: &mut Option<(String, bool)>| {
        if let (Some((version, true)), Some(p)) = (current.take(), out.last_mut()) {
            p.available.push(version);
        }
    };
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if indent == 0 && line.ends_with(':') && !line.contains(' ') {
            finish(&mut out, &mut current);
            out.push(Policy { name: line.trim_end_matches(':').to_string(), ..Policy::default() });
        } else if line.starts_with(" *** ") || (indent == 5 && !line.trim_start().starts_with("***")) {
            finish(&mut out, &mut current);
            let version = line.trim_start().trim_start_matches("***").split_whitespace().next();
            current = version.map(|v| (v.to_string(), false));
        } else if indent >= 8
            && let Some((_, served)) = current.as_mut()
        {
            // `500 http://... bookworm/main amd64 Packages`, or `100 /var/lib/dpkg/status`.
            *served |= line.split_whitespace().nth(1).is_some_and(|s| s != "/var/lib/dpkg/status");
        }
    }
    finish(&mut out, &mut current);
    for p in &mut out {
        p.available.sort_by(|a, b| cmp_versions(b, a));
        p.available.dedup();
    }
    out
}

/// Debian's order of two versions; a version that does not parse sorts first.
fn cmp_versions(a: &str, b: &str) -> std::cmp::Ordering {
    match (Version::from_str(a), Version::from_str(b)) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        (a, b) => a.is_ok().cmp(&b.is_ok()),
    }
}

/// The upstream version of a Debian version: `1:7.2+dfsg-7+deb12u18+b3` gives `7.2+dfsg`.
pub fn upstream(version: &str) -> String {
    Version::from_str(version).map_or_else(|_| version.to_string(), |v| v.upstream_version)
}

/// Whether a Debian version's upstream part starts with the numbers of `pin`: `7.2` matches
/// `1:7.2+dfsg-7` and `7.2.22`, not `7.20` or `10.0.2`.
pub fn matches(version: &str, pin: &str) -> bool {
    let up = upstream(version);
    let numbers = |s: &str| -> Vec<String> {
        let end = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
        s[..end].split('.').filter(|p| !p.is_empty()).map(str::to_string).collect()
    };
    let (have, want) = (numbers(&up), numbers(pin));
    !want.is_empty() && have.len() >= want.len() && have[..want.len()] == want[..]
}

/// What the machine lacks, before anything is asked of the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Need<'a> {
    /// A package that is not installed (nor provided by an installed one).
    Missing(&'a Apt),
    /// A package installed in a version other than the one pinned.
    Version(&'a Apt, Installed),
    /// An installed package of a family, in another version than the family's.
    Drift(&'a Family, Installed),
}

/// What the machine lacks of `wanted`, and which installed packages of `families` are in
/// another version than their family's. Empty when the set-up has nothing to do.
pub fn needs<'a>(wanted: &'a [Apt], families: &'a [Family], installed: &[Installed]) -> Vec<Need<'a>> {
    let mut out = Vec::new();
    for want in wanted {
        match installed.iter().find(|i| i.name == want.name) {
            Some(i) if want.version.is_none_or(|pin| matches(&i.version, pin)) => {}
            Some(i) => out.push(Need::Version(want, i.clone())),
            None if want.version.is_none()
                && installed.iter().any(|i| i.provides.iter().any(|p| p == want.name)) => {}
            None => out.push(Need::Missing(want)),
        }
    }
    for family in families {
        for i in
            installed.iter().filter(|i| i.source == family.source && !matches(&i.version, family.version))
        {
            if !out.iter().any(|n| matches!(n, Need::Version(w, _) if w.name == i.name)) {
                out.push(Need::Drift(family, i.clone()));
            }
        }
    }
    out
}

/// One change the set-up asks apt for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Install a package that is not there: `version` exact, or apt's candidate when unpinned.
    Install {
        /// The package.
        name: String,
        /// The exact version to install, for a pinned package.
        version: Option<String>,
        /// What it is for.
        why: String,
    },
    /// Replace an installed version of a family's package (a downgrade or an upgrade).
    Replace {
        /// The package.
        name: String,
        /// The installed version.
        from: String,
        /// The version to install.
        to: String,
        /// Why.
        why: String,
    },
    /// Remove a family's package that the archive serves in no version of the family's.
    Remove {
        /// The package.
        name: String,
        /// The installed version.
        version: String,
        /// Why.
        why: String,
    },
}

impl Action {
    /// The package.
    pub fn name(&self) -> &str {
        match self {
            Self::Install { name, .. } | Self::Replace { name, .. } | Self::Remove { name, .. } => name,
        }
    }

    /// The argument for `apt-get install`: `NAME`, `NAME=VERSION` or `NAME-` (remove).
    pub fn spec(&self) -> String {
        match self {
            Self::Install { name, version: None, .. } => name.clone(),
            Self::Install { name, version: Some(v), .. } | Self::Replace { name, to: v, .. } => {
                format!("{name}={v}")
            }
            Self::Remove { name, .. } => format!("{name}-"),
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Install { name, version, why } => {
                let spec = version.as_ref().map_or_else(|| name.clone(), |v| format!("{name} {v}"));
                write!(f, "install {spec:<44} {why}")
            }
            Self::Replace { name, from, to, why } => write!(f, "replace {name} {from} with {to}: {why}"),
            Self::Remove { name, version, why } => write!(f, "remove {name} {version}: {why}"),
        }
    }
}

/// The newest version apt serves of `name` that matches `pin`.
fn pick<'p>(policy: &'p [Policy], name: &str, pin: &str) -> Result<&'p str, String> {
    let p = policy.iter().find(|p| p.name == name).ok_or_else(|| {
        format!("setup: apt knows no package {name} (after apt-get update): is this Debian 12 (bookworm)?")
    })?;
    p.available.iter().find(|v| matches(v, pin)).map(String::as_str).ok_or_else(|| {
        let offered = if p.available.is_empty() { "none".to_string() } else { p.available.join(", ") };
        format!(
            "setup: {name} must be version {pin}.x (what the builds and tests are calibrated on), \
             but apt offers only: {offered}"
        )
    })
}

/// The changes that meet `needs`, with the exact versions apt serves. An installed package in
/// another version is replaced only if it belongs to a family; any other is an error naming it.
pub fn resolve(needs: &[Need<'_>], families: &[Family], policy: &[Policy]) -> Result<Vec<Action>, String> {
    let family_of = |i: &Installed| families.iter().find(|f| f.source == i.source);
    let mut out = Vec::new();
    for need in needs {
        out.push(match need {
            Need::Missing(want) => Action::Install {
                name: want.name.to_string(),
                version: want
                    .version
                    .map(|pin| pick(policy, want.name, pin).map(str::to_string))
                    .transpose()?,
                why: want.why.to_string(),
            },
            Need::Version(want, i) => {
                let pin = want.version.unwrap_or_default();
                let Some(family) = family_of(i) else {
                    return Err(format!(
                        "setup: {} {} is installed, but the builds and tests are calibrated on {} {pin}.x; \
                         the set-up replaces only {}, so it changes nothing: install {} {pin}.x or remove \
                         {}, then run it again",
                        i.name,
                        i.version,
                        i.name,
                        family_names(families),
                        i.name,
                        i.name
                    ));
                };
                Action::Replace {
                    name: i.name.clone(),
                    from: i.version.clone(),
                    to: pick(policy, &i.name, pin)?.to_string(),
                    why: family.why.to_string(),
                }
            }
            Need::Drift(family, i) => match pick(policy, &i.name, family.version) {
                Ok(to) => Action::Replace {
                    name: i.name.clone(),
                    from: i.version.clone(),
                    to: to.to_string(),
                    why: family.why.to_string(),
                },
                Err(_) => Action::Remove {
                    name: i.name.clone(),
                    version: i.version.clone(),
                    why: format!(
                        "no {} {} version of it is served, and it would conflict: {}",
                        family.source, family.version, family.why
                    ),
                },
            },
        });
    }
    Ok(out)
}

fn family_names(families: &[Family]) -> String {
    let names: Vec<String> = families
        .iter()
        .map(|f| format!("the {} family (packages built from Debian's `{}`)", f.source, f.source))
        .collect();
    names.join(" and ")
}

/// What `apt-get -s install` would do to packages already on the machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Simulation {
    /// Packages it would install that are not there.
    pub new: usize,
    /// Installed packages it would move to a newer version.
    pub upgraded: usize,
    /// Its lines for installed packages it would remove or move to an older version, verbatim.
    pub changes: Vec<String>,
}

/// Reads a simulated install (`apt-get -s install`, in the C locale) and checks that it removes
/// or downgrades only what `actions` ask for or what belongs to a family. `ok` is apt's exit.
pub fn check_simulation(
    output: &str,
    ok: bool,
    actions: &[Action],
    families: &[Family],
    installed: &[Installed],
) -> Result<Simulation, String> {
    if !ok {
        // apt explains under "unmet dependencies:": ` qemu-utils : Breaks: ...`.
        let explanation: Vec<&str> = output
            .lines()
            .skip_while(|l| !l.contains("unmet dependencies"))
            .skip(1)
            .chain(output.lines().filter(|l| l.starts_with("E: ")))
            .filter(|l| !l.trim().is_empty())
            .collect();
        let culprit = explanation
            .first()
            .and_then(|l| l.split(" : ").next())
            .map(str::trim)
            .filter(|n| !n.is_empty() && !n.starts_with("E:"));
        let mut msg = String::from("setup: apt cannot install the packages together");
        if let Some(name) = culprit {
            let have = installed.iter().find(|i| i.name == name);
            match have {
                Some(i) => {
                    let _ = write!(msg, ": the installed {} {} stands in the way", i.name, i.version);
                }
                None => {
                    let _ = write!(msg, ": {name} cannot be installed");
                }
            }
        }
        msg.push_str("; nothing was changed. apt says:");
        for l in &explanation {
            let _ = write!(msg, "\n  {}", l.trim_end());
        }
        return Err(msg);
    }
    let allowed = |name: &str| {
        actions.iter().any(|a| a.name() == name)
            || installed.iter().any(|i| i.name == name && families.iter().any(|f| f.source == i.source))
    };
    let mut sim = Simulation::default();
    for line in output.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("Remv"), Some(name), old) => {
                if !allowed(name) {
                    let version = old.unwrap_or_default().trim_matches(['[', ']']);
                    return Err(format!(
                        "setup: installing would remove {name} {version}, which the set-up may not \
                         replace (it replaces only {}); nothing was changed",
                        family_names(families)
                    ));
                }
                sim.changes.push(line.to_string());
            }
            (Some("Inst"), Some(name), Some(old)) if old.starts_with('[') => {
                let old = old.trim_matches(['[', ']']);
                let new =
                    line.split('(').nth(1).and_then(|s| s.split_whitespace().next()).unwrap_or_default();
                if cmp_versions(new, old).is_lt() {
                    if !allowed(name) {
                        return Err(format!(
                            "setup: installing would downgrade {name} from {old} to {new}, which the \
                             set-up may not do (it replaces only {}); nothing was changed",
                            family_names(families)
                        ));
                    }
                    sim.changes.push(line.to_string());
                } else {
                    sim.upgraded += 1;
                }
            }
            (Some("Inst"), Some(_), _) => sim.new += 1,
            _ => {}
        }
    }
    Ok(sim)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUST: &str = "1.96";
    const QEMU: &str = "7.2";
    const WANTED: &[Apt] = &[
        Apt { name: "rustc-web", version: Some(RUST), why: "rustc" },
        Apt { name: "libstd-rust-web-dev", version: Some(RUST), why: "std" },
        Apt { name: "lld", version: None, why: "linker" },
        Apt { name: "qemu-system-arm", version: Some(QEMU), why: "cortex-m" },
        Apt { name: "qemu-system-misc", version: Some(QEMU), why: "sh4" },
        Apt { name: "nodejs", version: None, why: "node" },
        Apt { name: "npm", version: None, why: "npm" },
    ];
    const FAMILIES: &[Family] = &[Family { source: "qemu", version: QEMU, why: "the r2d crash image" }];

    /// A machine image with qemu-utils 10.0.2 from bookworm-backports (no longer in apt's
    /// sources) and Node 20 from NodeSource, before the set-up: what `dpkg-query` and
    /// `apt-cache policy` printed there.
    const DPKG_BPO: &str = include_str!("testdata/dpkg-bpo-qemu-utils.txt");
    const POLICY_BPO: &str = include_str!("testdata/policy-bpo-qemu-utils.txt");
    /// apt's answer there to installing qemu-system 7.2 without naming qemu-utils.
    const SIM_BREAKS: &str = include_str!("testdata/sim-breaks.txt");

    fn installed(name: &str, source: &str, version: &str) -> Installed {
        Installed { name: name.into(), source: source.into(), version: version.into(), provides: vec![] }
    }

    fn policy(name: &str, versions: &[&str]) -> Policy {
        Policy { name: name.into(), available: versions.iter().map(|v| v.to_string()).collect() }
    }

    #[test]
    fn upstream_versions_match_by_their_numbers() {
        assert!(matches("1:7.2+dfsg-7+deb12u18+b3", "7.2"));
        assert!(matches("7.2.22", "7.2"));
        assert!(matches("1.96.0+dfsg1-1~deb12u2", "1.96"));
        assert!(matches("1.96.3+dfsg1-1~deb12u1", "1.96"));
        assert!(!matches("1:10.0.2+ds-2+deb13u1~bpo12+1", "7.2"));
        assert!(!matches("1:7.20+dfsg-1", "7.2"));
        assert!(!matches("1.85.0+dfsg3-1~deb12u3", "1.96"));
        assert!(!matches("7", "7.2"));
        assert_eq!(upstream("1:7.2+dfsg-7+deb12u18+b3"), "7.2+dfsg");
    }

    #[test]
    fn the_dpkg_listing_gives_installed_packages_with_source_and_provides() {
        let all = parse_installed(DPKG_BPO);
        let utils = all.iter().find(|i| i.name == "qemu-utils").expect("qemu-utils is in the listing");
        assert_eq!(
            (utils.source.as_str(), utils.version.as_str()),
            ("qemu", "1:10.0.2+ds-2+deb13u1~bpo12+1")
        );
        let node = all.iter().find(|i| i.name == "nodejs").expect("nodejs is in the listing");
        assert!(node.provides.iter().any(|p| p == "npm"), "{node:?}");
        // A package whose source has the same name gets its own name as source.
        let bash = all.iter().find(|i| i.name == "bash").expect("bash is in the listing");
        assert_eq!(bash.source, "bash");
        // Not fully installed: left out.
        let half = parse_installed("a\ta\t1\trc \t\nb\t\t2\tii \tc (= 2), d\n");
        assert_eq!(
            half,
            vec![Installed {
                name: "b".into(),
                source: "b".into(),
                version: "2".into(),
                provides: vec!["c".into(), "d".into()]
            }]
        );
    }

    #[test]
    fn the_policy_listing_gives_served_versions_newest_first() {
        let all = parse_policy(POLICY_BPO);
        let utils = all.iter().find(|p| p.name == "qemu-utils").expect("qemu-utils is in the listing");
        // The installed backport is known only from the status file: not served.
        assert_eq!(utils.available, ["1:7.2+dfsg-7+deb12u18+b3", "1:7.2+dfsg-7+deb12u15"]);
        let rustc = all.iter().find(|p| p.name == "rustc-web").expect("rustc-web is in the listing");
        assert_eq!(rustc.available, ["1.96.0+dfsg1-1~deb12u2", "1.85.0+dfsg3-1~deb12u3"]);
        let node = all.iter().find(|p| p.name == "nodejs").expect("nodejs is in the listing");
        assert_eq!(node.available, ["18.20.4+dfsg-1~deb12u3", "18.20.4+dfsg-1~deb12u2"]);
    }

    #[test]
    fn on_the_backports_image_qemu_utils_is_downgraded_with_the_rest_installed() {
        let inst = parse_installed(DPKG_BPO);
        let pol = parse_policy(POLICY_BPO);
        let needs = needs(WANTED, FAMILIES, &inst);
        // Node from NodeSource provides npm; nothing else of WANTED is there.
        assert_eq!(needs.len(), 6, "{needs:?}");
        let actions = resolve(&needs, FAMILIES, &pol).expect("the state is resolvable");
        let specs: Vec<String> = actions.iter().map(Action::spec).collect();
        assert_eq!(
            specs,
            [
                "rustc-web=1.96.0+dfsg1-1~deb12u2",
                "libstd-rust-web-dev=1.96.0+dfsg1-1~deb12u2",
                "lld",
                "qemu-system-arm=1:7.2+dfsg-7+deb12u18+b3",
                "qemu-system-misc=1:7.2+dfsg-7+deb12u18+b3",
                "qemu-utils=1:7.2+dfsg-7+deb12u18+b3",
            ]
        );
        assert!(
            matches!(&actions[5], Action::Replace { from, .. } if from == "1:10.0.2+ds-2+deb13u1~bpo12+1")
        );
    }

    #[test]
    fn a_machine_with_everything_needs_nothing() {
        let inst = vec![
            installed("rustc-web", "rustc-web", "1.96.0+dfsg1-1~deb12u2"),
            installed("libstd-rust-web-dev", "rustc-web", "1.96.0+dfsg1-1~deb12u2"),
            installed("lld", "llvm-defaults", "1:14.0-55.7~deb12u1"),
            installed("qemu-system-arm", "qemu", "1:7.2+dfsg-7+deb12u18+b3"),
            installed("qemu-system-misc", "qemu", "1:7.2+dfsg-7+deb12u18+b3"),
            installed("qemu-utils", "qemu", "1:7.2+dfsg-7+deb12u18+b3"),
            installed("nodejs", "nodejs", "18.20.4+dfsg-1~deb12u3"),
            installed("npm", "npm", "9.2.0~ds1-1"),
            // Built from another source: not the qemu family's version, and no matter.
            installed("qemu-efi-aarch64", "edk2", "2022.11-6+deb12u2"),
        ];
        assert_eq!(needs(WANTED, FAMILIES, &inst), vec![]);
    }

    #[test]
    fn a_later_debian_revision_of_the_pinned_version_is_taken() {
        let need = needs(&WANTED[..1], FAMILIES, &[]);
        let pol = [policy("rustc-web", &["1.96.1+dfsg1-1~deb12u1", "1.85.0+dfsg3-1~deb12u3"])];
        let actions = resolve(&need, FAMILIES, &pol).expect("resolvable");
        assert_eq!(actions[0].spec(), "rustc-web=1.96.1+dfsg1-1~deb12u1");
    }

    #[test]
    fn a_pinned_version_the_archive_no_longer_serves_is_an_error_naming_it() {
        let need = needs(&WANTED[..1], FAMILIES, &[]);
        let pol = [policy("rustc-web", &["1.97.0+dfsg1-1~deb12u1", "1.85.0+dfsg3-1~deb12u3"])];
        let err = resolve(&need, FAMILIES, &pol).expect_err("no 1.96 is served");
        assert!(err.contains("rustc-web must be version 1.96.x"), "{err}");
        assert!(err.contains("1.97.0+dfsg1-1~deb12u1, 1.85.0+dfsg3-1~deb12u3"), "{err}");
        let err = resolve(&need, FAMILIES, &[]).expect_err("unknown package");
        assert!(err.contains("apt knows no package rustc-web"), "{err}");
    }

    #[test]
    fn a_newer_package_outside_the_families_stops_the_set_up_naming_it() {
        let inst = [installed("rustc-web", "rustc-web", "1.97.0+dfsg1-1~deb12u1")];
        let need = needs(&WANTED[..1], FAMILIES, &inst);
        let pol = [policy("rustc-web", &["1.97.0+dfsg1-1~deb12u1", "1.96.0+dfsg1-1~deb12u2"])];
        let err = resolve(&need, FAMILIES, &pol).expect_err("rustc-web is not replaced");
        assert!(err.starts_with("setup: rustc-web 1.97.0+dfsg1-1~deb12u1 is installed"), "{err}");
        assert!(err.contains("the qemu family"), "{err}");
    }

    #[test]
    fn qemu_10_from_backports_everywhere_is_replaced_package_by_package() {
        // bookworm-backports still in the sources: qemu-system 10 is the candidate and installed.
        let q10 = "1:10.0.2+ds-2+deb13u1~bpo12+1";
        let q72 = "1:7.2+dfsg-7+deb12u18+b3";
        let inst = [
            installed("qemu-system-arm", "qemu", q10),
            installed("qemu-system-common", "qemu", q10),
            installed("qemu-block-extra", "qemu", q10),
        ];
        let pol = [
            policy("qemu-system-arm", &[q10, q72]),
            policy("qemu-system-misc", &[q10, q72]),
            policy("qemu-system-common", &[q10, q72]),
            // Served only by backports: removed.
            policy("qemu-block-extra", &[q10]),
        ];
        let wanted = &WANTED[3..5];
        let need = needs(wanted, FAMILIES, &inst);
        let actions = resolve(&need, FAMILIES, &pol).expect("the qemu family may be replaced");
        let specs: Vec<String> = actions.iter().map(Action::spec).collect();
        assert_eq!(
            specs,
            [
                format!("qemu-system-arm={q72}"),
                format!("qemu-system-misc={q72}"),
                format!("qemu-system-common={q72}"),
                "qemu-block-extra-".to_string(),
            ]
        );
    }

    #[test]
    fn apt_refusing_the_set_names_the_package_in_the_way() {
        let inst = parse_installed(DPKG_BPO);
        let err = check_simulation(SIM_BREAKS, false, &[], FAMILIES, &inst).expect_err("apt failed");
        assert!(
            err.starts_with(
                "setup: apt cannot install the packages together: the installed qemu-utils \
                 1:10.0.2+ds-2+deb13u1~bpo12+1 stands in the way"
            ),
            "{err}"
        );
        assert!(err.contains("qemu-utils : Breaks: qemu-system-common (< 1:8.0+dfsg-5~)"), "{err}");
    }

    #[test]
    fn a_simulation_may_remove_or_downgrade_only_the_families() {
        let inst = parse_installed(DPKG_BPO);
        let sim = "Inst qemu-utils [1:10.0.2+ds-2+deb13u1~bpo12+1] (1:7.2+dfsg-7+deb12u18+b3 Debian:12.15/oldstable [amd64])\n\
                   Inst perl [5.36.0-7+deb12u2] (5.36.0-7+deb12u4 Debian-Security:12/oldstable-security [amd64]) []\n\
                   Inst pcsxr (1.9.94-5+b1 Debian:12.15/oldstable [amd64])\n\
                   Conf pcsxr (1.9.94-5+b1 Debian:12.15/oldstable [amd64])\n";
        let got = check_simulation(sim, true, &[], FAMILIES, &inst).expect("a qemu downgrade is allowed");
        assert_eq!((got.new, got.upgraded, got.changes.len()), (1, 1, 1));
        let remove_bash = "Remv bash [5.2.15-2+b7]\n";
        let err = check_simulation(remove_bash, true, &[], FAMILIES, &inst).expect_err("bash stays");
        assert!(err.starts_with("setup: installing would remove bash 5.2.15-2+b7"), "{err}");
        let downgrade_perl = "Inst perl [5.36.0-7+deb12u2] (5.36.0-7 Debian:12.0 [amd64])\n";
        let err = check_simulation(downgrade_perl, true, &[], FAMILIES, &inst).expect_err("perl stays");
        assert!(
            err.starts_with("setup: installing would downgrade perl from 5.36.0-7+deb12u2 to 5.36.0-7"),
            "{err}"
        );
    }
}
