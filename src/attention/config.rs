//! The attention feature flags, read once into one typed [`AttentionConfig`].
//!
//! | variable | values | default | effect |
//! |---|---|---|---|
//! | `IRONFORGE_ENABLE_BLOCK_SPARSE` | `true`/`false`/`1`/`0` | `true` | the `block_sparse` kernel may be chosen by dispatch |
//! | `IRONFORGE_ENABLE_TIME_BIAS_CACHE` | `true`/`false`/`1`/`0` | `true` | time-bias matrices are memoised in a [`super::cache::TimeBiasCache`] |
//! | `IRONFORGE_ENABLE_FLASH_ATTENTION` | `true`/`false`/`conditional` | `conditional` | `flash` forced / never / where the crossover table measured it fastest |
//! | `IRONFORGE_ENABLE_AMP` | `true`/`false`/`1`/`0` | `false` | the `bf16` kernel (reduced precision) may be chosen |
//!
//! An unset variable takes its default; an empty or unknown value is an error naming the
//! variable and the accepted values (the original defined these flags and never read them).

use super::Kernel;

/// Name of the block-sparse flag.
pub const ENV_BLOCK_SPARSE: &str = "IRONFORGE_ENABLE_BLOCK_SPARSE";
/// Name of the time-bias cache flag.
pub const ENV_TIME_BIAS_CACHE: &str = "IRONFORGE_ENABLE_TIME_BIAS_CACHE";
/// Name of the flash-attention flag.
pub const ENV_FLASH_ATTENTION: &str = "IRONFORGE_ENABLE_FLASH_ATTENTION";
/// Name of the mixed-precision (bf16) flag.
pub const ENV_AMP: &str = "IRONFORGE_ENABLE_AMP";

/// How the `flash` kernel may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashMode {
    /// `true`: always use `flash` (when the build has it), whatever the table says.
    On,
    /// `false`: never use `flash`.
    Off,
    /// `conditional`: use `flash` only at the sizes where the crossover table measured it fastest.
    Conditional,
}

/// A flag with a value it does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {variable}={value:?} is not valid (accepted: {accepted})")]
pub struct ConfigError {
    /// The variable's name.
    pub variable: &'static str,
    /// The value found.
    pub value: String,
    /// The accepted values, comma separated.
    pub accepted: &'static str,
}

/// The attention configuration: every `IRONFORGE_ENABLE_*` flag, typed.
///
/// ```
/// use ironforge::attention::config::{AttentionConfig, FlashMode};
/// let cfg = AttentionConfig::from_lookup(|name| match name {
///     "IRONFORGE_ENABLE_FLASH_ATTENTION" => Some("false".to_string()),
///     _ => None,
/// })?;
/// assert_eq!(cfg.flash, FlashMode::Off);
/// assert!(cfg.block_sparse && cfg.time_bias_cache && !cfg.amp);
/// let err = AttentionConfig::from_lookup(|_| Some("yes".to_string())).unwrap_err();
/// assert!(err.to_string().contains("IRONFORGE_ENABLE_BLOCK_SPARSE"));
/// # Ok::<(), ironforge::attention::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttentionConfig {
    /// `IRONFORGE_ENABLE_BLOCK_SPARSE`.
    pub block_sparse: bool,
    /// `IRONFORGE_ENABLE_TIME_BIAS_CACHE`.
    pub time_bias_cache: bool,
    /// `IRONFORGE_ENABLE_FLASH_ATTENTION`.
    pub flash: FlashMode,
    /// `IRONFORGE_ENABLE_AMP`.
    pub amp: bool,
}

impl Default for AttentionConfig {
    fn default() -> Self {
        Self { block_sparse: true, time_bias_cache: true, flash: FlashMode::Conditional, amp: false }
    }
}

const BOOL_VALUES: &str = "true, false, 1, 0";
const FLASH_VALUES: &str = "true, false, conditional";
const ISA_VALUES: &str = "avx512, avx2, portable";

fn parse_bool(variable: &'static str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::trim) {
        None => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(_) => Err(ConfigError { variable, value: value.unwrap_or_default(), accepted: BOOL_VALUES }),
    }
}

fn parse_flash(value: Option<String>) -> Result<FlashMode, ConfigError> {
    match value.as_deref().map(str::trim) {
        None | Some("conditional") => Ok(FlashMode::Conditional),
        Some("true" | "1") => Ok(FlashMode::On),
        Some("false" | "0") => Ok(FlashMode::Off),
        Some(_) => {
            Err(ConfigError { variable: ENV_FLASH_ATTENTION, value: value.unwrap_or_default(), accepted: FLASH_VALUES })
        }
    }
}

impl AttentionConfig {
    /// Reads the flags from the process environment. A value that is not UTF-8 is an error
    /// naming the variable (not taken as unset).
    pub fn from_env() -> Result<Self, ConfigError> {
        for (variable, accepted) in [
            (ENV_BLOCK_SPARSE, BOOL_VALUES),
            (ENV_TIME_BIAS_CACHE, BOOL_VALUES),
            (ENV_FLASH_ATTENTION, FLASH_VALUES),
            (ENV_AMP, BOOL_VALUES),
        ] {
            if let Err(std::env::VarError::NotUnicode(raw)) = std::env::var(variable) {
                let value = format!("{} (not UTF-8)", raw.to_string_lossy());
                return Err(ConfigError { variable, value, accepted });
            }
        }
        if super::kernels::simd::Isa::ceiling_from_env().is_err() {
            let value = std::env::var_os(super::kernels::simd::MAX_ISA_VAR).unwrap_or_default();
            return Err(ConfigError {
                variable: super::kernels::simd::MAX_ISA_VAR,
                value: value.to_string_lossy().into_owned(),
                accepted: ISA_VALUES,
            });
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the flags through `lookup(name)` (`None` = unset); used by tests.
    pub fn from_lookup(mut lookup: impl FnMut(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        Ok(Self {
            block_sparse: parse_bool(ENV_BLOCK_SPARSE, lookup(ENV_BLOCK_SPARSE), d.block_sparse)?,
            time_bias_cache: parse_bool(ENV_TIME_BIAS_CACHE, lookup(ENV_TIME_BIAS_CACHE), d.time_bias_cache)?,
            flash: parse_flash(lookup(ENV_FLASH_ATTENTION))?,
            amp: parse_bool(ENV_AMP, lookup(ENV_AMP), d.amp)?,
        })
    }

    /// Whether dispatch may choose `kernel` under these flags. `math` and `sdpa` are always
    /// allowed; `block_sparse` needs the block-sparse flag, `bf16` needs AMP, `flash` needs the
    /// flash flag not `false`. Kernels are matched by name so that kernels added later obey
    /// the same rules.
    ///
    /// ```
    /// use ironforge::attention::{config::AttentionConfig, Kernel};
    /// assert!(AttentionConfig::default().allows(Kernel::Math));
    /// ```
    pub fn allows(&self, kernel: Kernel) -> bool {
        match kernel.name() {
            "block_sparse" => self.block_sparse,
            "bf16" => self.amp,
            "flash" => self.flash != FlashMode::Off,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl FnMut(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn unset_flags_take_documented_defaults() {
        let cfg = AttentionConfig::from_lookup(|_| None).unwrap();
        assert_eq!(
            cfg,
            AttentionConfig { block_sparse: true, time_bias_cache: true, flash: FlashMode::Conditional, amp: false }
        );
    }

    #[test]
    fn every_flag_is_read() {
        let cfg = AttentionConfig::from_lookup(lookup(&[
            (ENV_BLOCK_SPARSE, "false"),
            (ENV_TIME_BIAS_CACHE, "0"),
            (ENV_FLASH_ATTENTION, "true"),
            (ENV_AMP, "1"),
        ]))
        .unwrap();
        assert_eq!(
            cfg,
            AttentionConfig { block_sparse: false, time_bias_cache: false, flash: FlashMode::On, amp: true }
        );
    }

    #[test]
    fn invalid_values_name_the_variable_and_accepted_values() {
        for var in [ENV_BLOCK_SPARSE, ENV_TIME_BIAS_CACHE, ENV_FLASH_ATTENTION, ENV_AMP] {
            let err = AttentionConfig::from_lookup(lookup(&[(var, "maybe")])).unwrap_err();
            assert_eq!(err.variable, var);
            assert_eq!(err.value, "maybe");
            let msg = err.to_string();
            assert!(msg.contains(var) && msg.contains("true, false"), "{msg}");
        }
        let err = AttentionConfig::from_lookup(lookup(&[(ENV_AMP, "conditional")])).unwrap_err();
        assert_eq!(err.variable, ENV_AMP, "conditional is only valid for flash");
        assert!(AttentionConfig::from_lookup(lookup(&[(ENV_AMP, "")])).is_err());
    }

    #[test]
    fn math_is_always_allowed() {
        let off = AttentionConfig { block_sparse: false, time_bias_cache: false, flash: FlashMode::Off, amp: false };
        assert!(off.allows(Kernel::Math));
    }
}
