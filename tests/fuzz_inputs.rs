//! The fuzz targets of `fuzz/` (shared through `tobira::fuzz_targets`) run in the normal test
//! suite for a fixed number of seeded inputs: random bytes, and mutations of valid inputs
//! (bytes flipped, inserted, removed, spliced from other seeds). No input may panic, and every
//! rejection must be a clear error (the targets check that themselves).

use tobira::fuzz_targets::{self, seeds};

/// Inputs per target; with the seed fixed, every run tries the same ones.
const ITERATIONS: usize = 3000;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        // Mostly the bytes that matter to CSV, JSON and TOML, sometimes anything.
        const INTERESTING: &[u8] = b",\"\n\r{}[]:=.-#0123456789 \\\x00\xef\xbb\xbf\x82\xa0\xe3";
        if self.below(3) == 0 {
            self.next() as u8
        } else {
            INTERESTING[self.below(INTERESTING.len())]
        }
    }
}

/// One input: random bytes or a mutation of one of `seeds`.
fn input(rng: &mut Rng, seeds: &[&[u8]]) -> Vec<u8> {
    if rng.below(8) == 0 {
        let len = rng.below(200);
        return (0..len).map(|_| rng.byte()).collect();
    }
    let mut v = seeds[rng.below(seeds.len())].to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 if at < v.len() => v[at] = rng.byte(),
            1 => v.insert(at, rng.byte()),
            2 if at < v.len() => {
                v.remove(at);
            }
            3 => {
                // Splice a piece of another seed in.
                let other = seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                let to = (from + rng.below(32)).min(other.len());
                v.splice(at..at, other[from..to].iter().copied());
            }
            _ => v.truncate(at),
        }
    }
    v
}

#[test]
fn the_roster_parser_never_panics_and_explains_every_rejection() {
    let seeds: Vec<&[u8]> = vec![
        seeds::ROSTER.as_bytes(),
        b"\xef\xbb\xbfsymbol,number,birthdate,name,email,user_id\r\n1,2,1980-01-01,a,a@b.c,abc12345\r\n",
        // The Japanese header in CP932, as Windows exports it.
        b"\x8bL\x8d\x86,\x94\xd4\x8d\x86,\x90\xb6\x94N\x8c\x8e\x93\xfa,\x8e\x81\x96\xbc,\x83\x81\x81[\x83\x8b\x83A\x83h\x83\x8c\x83X,\x83\x86\x81[\x83U\x82h\x82c\n1,2,19800101,x,a@b.c,abc12345\n",
    ];
    let mut rng = Rng(0x00C5_7EED);
    for _ in 0..ITERATIONS {
        fuzz_targets::roster_csv(&input(&mut rng, &seeds));
    }
}

#[test]
fn every_request_body_is_read_or_refused_clearly() {
    let bodies: Vec<Vec<u8>> = seeds::BODIES
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut v = vec![u8::try_from(i).unwrap()];
            v.extend_from_slice(b.as_bytes());
            v
        })
        .collect();
    let seeds: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
    let mut rng = Rng(0x00B0_D1E5);
    let (mut read, mut refused) = (0, 0);
    for _ in 0..ITERATIONS * 3 {
        let mut data = input(&mut rng, &seeds);
        if data.is_empty() {
            continue;
        }
        // Keep the body type a seed's, most of the time, so each type gets its share.
        if rng.below(4) != 0 {
            data[0] = (rng.below(seeds::BODIES.len())) as u8;
        }
        if fuzz_targets::request_bodies(&data) {
            read += 1;
        } else {
            refused += 1;
        }
    }
    // Both sides were exercised: the mutations are neither all fatal nor all harmless.
    assert!(
        read > 100 && refused > 100,
        "read {read}, refused {refused}"
    );
}

#[test]
fn the_config_parser_never_panics_and_explains_every_rejection() {
    let seeds: Vec<&[u8]> = vec![
        seeds::CONFIG.as_bytes(),
        b"[lockout.account]\nfree_failures = 3\nbase_delay_secs = 2\nmax_delay_secs = 300\nlock_after = 0\n",
        b"[totp]\ndigits = 8\nalgorithm = \"SHA256\"\n[email_code]\nttl_secs = 300\n",
        b"[flow]\nidle_timeout_secs = 0\n",
        b"[kiosk]\nidle_secs = 60\nwarn_secs = 10\nmethods = [\"totp_app\"]\n",
    ];
    let mut rng = Rng(0x00C0_4F16);
    for _ in 0..ITERATIONS {
        fuzz_targets::config_file(&input(&mut rng, &seeds));
    }
}
