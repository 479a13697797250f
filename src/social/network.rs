//! [`SocialNetwork`]: every network CloudMine's social login knows.

use std::fmt;
use std::str::FromStr;

macro_rules! networks {
    ($( $(#[$doc:meta])* $variant:ident => $wire:literal ),* $(,)?) => {
        /// A social network, by its CloudMine wire name.
        ///
        /// Every network of the CloudMine docs and of the JavaScript SDK's
        /// `WebService.SocialNetworks`, plus [`SocialNetwork::Other`] for
        /// names the SDK does not know. Parsing is case-insensitive;
        /// `Display` gives the wire name.
        ///
        /// ```
        /// use cloudmine::SocialNetwork;
        /// let n: SocialNetwork = "GitHub".parse().unwrap();
        /// assert_eq!(n, SocialNetwork::Github);
        /// assert_eq!(n.to_string(), "github");
        /// assert_eq!("myidp".parse::<SocialNetwork>().unwrap(), SocialNetwork::Other("myidp".into()));
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum SocialNetwork {
            $( $(#[$doc])* $variant, )*
            /// A network this SDK has no name for; sent as given (lower-cased).
            Other(String),
        }

        impl SocialNetwork {
            /// Every named network.
            pub const ALL: &'static [SocialNetwork] = &[ $( SocialNetwork::$variant, )* ];

            /// The wire name (`service=` parameter).
            pub fn as_str(&self) -> &str {
                match self {
                    $( SocialNetwork::$variant => $wire, )*
                    SocialNetwork::Other(name) => name,
                }
            }
        }

        impl FromStr for SocialNetwork {
            type Err = crate::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let lower = s.trim().to_ascii_lowercase();
                Ok(match lower.as_str() {
                    $( $wire => SocialNetwork::$variant, )*
                    "" => return Err(crate::Error::invalid_argument("network", "must not be empty")),
                    other if other.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') => {
                        SocialNetwork::Other(other.to_owned())
                    }
                    other => {
                        return Err(crate::Error::invalid_argument(
                            "network",
                            format!("{other:?} is not a network name (letters, digits, '_' and '-')"),
                        ))
                    }
                })
            }
        }
    };
}

networks! {
    /// BodyMedia.
    Bodymedia => "bodymedia",
    /// Dropbox.
    Dropbox => "dropbox",
    /// Facebook.
    Facebook => "facebook",
    /// Fitbit.
    Fitbit => "fitbit",
    /// Flickr.
    Flickr => "flickr",
    /// Foursquare.
    Foursquare => "foursquare",
    /// Google Contacts.
    Gcontacts => "gcontacts",
    /// Google Docs.
    Gdocs => "gdocs",
    /// GitHub.
    Github => "github",
    /// Gmail.
    Gmail => "gmail",
    /// Google.
    Google => "google",
    /// Google+.
    Gplus => "gplus",
    /// Instagram.
    Instagram => "instagram",
    /// LinkedIn.
    Linkedin => "linkedin",
    /// Meetup.
    Meetup => "meetup",
    /// RunKeeper.
    Runkeeper => "runkeeper",
    /// Tumblr.
    Tumblr => "tumblr",
    /// Twitter.
    Twitter => "twitter",
    /// Withings.
    Withings => "withings",
    /// WordPress.com.
    Wordpress => "wordpress",
    /// Yammer.
    Yammer => "yammer",
    /// Zeo.
    Zeo => "zeo",
    /// Jawbone.
    Jawbone => "jawbone",
    /// iHealth.
    Ihealth => "ihealth",
    /// MapMyFitness.
    Mapmyfitness => "mapmyfitness",
}

impl fmt::Display for SocialNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_network_round_trips() {
        // The JS SDK's 22 plus the 3 only the docs list.
        assert_eq!(SocialNetwork::ALL.len(), 25);
        for n in SocialNetwork::ALL {
            assert_eq!(&n.to_string().parse::<SocialNetwork>().unwrap(), n);
            assert_eq!(
                &n.to_string()
                    .to_uppercase()
                    .parse::<SocialNetwork>()
                    .unwrap(),
                n
            );
        }
        assert_eq!(
            "  Twitter ".parse::<SocialNetwork>().unwrap(),
            SocialNetwork::Twitter
        );
        assert!("".parse::<SocialNetwork>().is_err());
        assert!("a b".parse::<SocialNetwork>().is_err());
        assert!("x&y=1".parse::<SocialNetwork>().is_err());
    }
}
