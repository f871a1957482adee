//! How a mode declares its requests: one list, each request with the line it is logged as.

/// Declares a mode's request enum and its `Debug` from one list: each request with the line it
/// is logged as, written next to it, so that what stays out of logs (passwords, codes, tokens,
/// links, passkey answers) is decided where the request is declared. Tuple fields are named
/// for the log line only. The enum's own attributes (doc, derives) come first, then its name.
macro_rules! mode_calls {
    (
        $(#[$enum_attr:meta])*
        $name:ident;
        $(
            $(#[$doc:meta])*
            $variant:ident
            $(( $($arg:ident: $arg_ty:ty),* ))?
            $({ $($(#[$field_doc:meta])* $field:ident: $field_ty:ty,)* })?
            => $log:literal,
        )*
    ) => {
        $(#[$enum_attr])*
        pub enum $name {
            $(
                $(#[$doc])*
                $variant
                $(( $($arg_ty),* ))?
                $({ $($(#[$field_doc])* $field: $field_ty,)* })?,
            )*
        }

        impl std::fmt::Debug for $name {
            #[allow(unused_variables)]
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $(
                        Self::$variant $(( $($arg),* ))? $({ $($field,)* })? => write!(f, $log),
                    )*
                }
            }
        }
    };
}

pub(crate) use mode_calls;
