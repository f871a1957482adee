//! The OpenAPI 3 description, generated from the route declarations and the API types.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's fixed parts; the paths are added by the router (see `routes`).
#[derive(OpenApi)]
#[openapi(
    info(title = "tobira", description = "First login and second-factor set-up for the member portal"),
    modifiers(&BearerFlow),
    tags(
        (name = "first-login", description = "The manual's steps 【2】–【11】"),
        (name = "second-factor", description = "Authenticator apps: set-up and the code at sign-in"),
        (name = "home", description = "The top screen: summary and registered second factors"),
        (name = "meta", description = "Health and documentation"),
        (name = "recovery", description = "Forgotten user ID and password (answers never tell who is a member)"),
        (name = "staff", description = "Helpdesk staff: enrolment, sign-in with an authenticator app, the signed-in staff member"),
        (name = "helpdesk", description = "The helpdesk console: find a caller, see where they are stuck (live), read the audit log"),
    )
)]
pub struct ApiDoc;

struct BearerFlow;

impl Modify for BearerFlow {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "flow",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The flow token from sign-in"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "staff",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The staff token (tbs_…) from the staff sign-in or enrolment; never a member's",
                    ))
                    .build(),
            ),
        );
    }
}

/// The complete description of the running API.
pub fn document() -> utoipa::openapi::OpenApi {
    super::routes::router().split_for_parts().1
}
