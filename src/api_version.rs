//! [`ApiVersion`]: the version segment of every CloudMine path
//! (`{api_root}/{version}/app/{appid}/…`).

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The API version a call's path starts with: CloudMine's `version` option.
///
/// Every endpoint of the SDK is a `v1` endpoint, except
/// [`WebService::search_es`](crate::WebService::search_es), which is always
/// `v2` (as the JS SDK's `searchES`). Set it per call with
/// [`CallOptions::version`](crate::CallOptions::version) (for
/// [`WebService::api`](crate::WebService::api) calls to `v2` paths), or for
/// every call on the builder. Parsed from `"v1"`/`"v2"`; anything else is an
/// [`Error::InvalidArgument`].
///
/// ```
/// use cloudmine::ApiVersion;
/// let v: ApiVersion = "v2".parse().unwrap();
/// assert_eq!(v, ApiVersion::V2);
/// assert_eq!(v.as_str(), "v2");
/// assert!("v3".parse::<ApiVersion>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ApiVersion {
    /// `v1`: every CloudMine endpoint (the default).
    #[default]
    V1,
    /// `v2`: Elasticsearch search (`class/{class}/elasticsearch`).
    V2,
}

impl ApiVersion {
    /// The path segment: `"v1"` or `"v2"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1",
            ApiVersion::V2 => "v2",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "v1" => Ok(ApiVersion::V1),
            "v2" => Ok(ApiVersion::V2),
            other => Err(Error::invalid_argument(
                "version",
                format!("{other:?} is not an API version: \"v1\" or \"v2\""),
            )),
        }
    }
}
