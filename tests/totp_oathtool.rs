//! TOTP codes cross-checked against an independent implementation: `oathtool` (Debian package
//! `oathtool`, installed by `scripts/setup-debian --test`), run as a subprocess.

use std::process::Command;

use tobira::domain::{TotpAlgorithm, TotpParams, TotpSecret};

fn oathtool(params: &TotpParams, secret: &TotpSecret, time: u64) -> String {
    let out = Command::new("oathtool")
        .arg(format!("--totp={}", params.algorithm.as_str()))
        .arg("--base32")
        .arg(format!("--digits={}", params.digits))
        .arg(format!("--time-step-size={}s", params.period_secs))
        .arg(format!("--now=@{time}"))
        .arg(secret.to_base32())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run oathtool ({e}): install the Debian package `oathtool` \
                 (scripts/setup-debian --test)"
            )
        });
    assert!(
        out.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Deterministic but unremarkable secret bytes (no RNG in tests, so failures reproduce).
fn secret(seed: u8, len: usize) -> TotpSecret {
    TotpSecret::from_bytes(
        (0..len)
            .map(|i| {
                (i as u8)
                    .wrapping_mul(37)
                    .wrapping_add(seed.wrapping_mul(101))
                    ^ 0x5a
            })
            .collect(),
    )
}

#[test]
fn codes_match_oathtool() {
    let times = [
        0u64,
        59,
        1_111_111_109,
        1_234_567_890,
        1_795_564_800,
        2_000_000_000,
    ];
    let mut compared = 0;
    for (seed, alg, len) in [
        (1, TotpAlgorithm::Sha1, 20),
        (2, TotpAlgorithm::Sha1, 16),
        (3, TotpAlgorithm::Sha256, 32),
        (4, TotpAlgorithm::Sha512, 64),
    ] {
        let s = secret(seed, len);
        for (digits, period) in [(6u8, 30u64), (8, 30), (6, 60)] {
            let p = TotpParams {
                algorithm: alg,
                digits,
                period_secs: period,
            };
            for t in times {
                assert_eq!(
                    p.code_at(&s, t).unwrap(),
                    oathtool(&p, &s, t),
                    "{alg:?} digits {digits} period {period} at {t}"
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 72);
}
