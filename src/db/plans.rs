//! Plans: what a subscription can be bought as, with its price and period.

use diesel::prelude::*;

use crate::models::Plan;
use crate::schema::plans;

pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<Plan>> {
    plans::table
        .order((plans::display_order, plans::code))
        .select(Plan::as_select())
        .load(conn)
}

pub fn find(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Plan>> {
    plans::table
        .find(code)
        .select(Plan::as_select())
        .first(conn)
        .optional()
}
