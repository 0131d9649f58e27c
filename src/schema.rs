//! Diesel's view of the tables in `migrations/`; keep the two in step (the
//! `schema_matches_the_migrations` test checks every column).

diesel::table! {
    articles (id) {
        id -> Int8,
        title -> Text,
        author -> Text,
        teaser -> Text,
        body_markdown -> Text,
        body_html -> Text,
        is_premium -> Bool,
        published_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        first_published_at -> Nullable<Timestamptz>,
        author_id -> Nullable<Int8>,
        slug -> Text,
        author_slug -> Text,
        version -> Int4,
        feature_media_id -> Nullable<Int8>,
        feature_alt -> Text,
        feature_credit -> Text,
    }
}

diesel::table! {
    access_grants (id) {
        id -> Int8,
        user_id -> Int8,
        kind -> Text,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
        granted_by -> Nullable<Int8>,
        reminded_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    gift_subscriptions (id) {
        id -> Int8,
        buyer_id -> Nullable<Int8>,
        form_key -> Text,
        recipient_email -> Text,
        from_name -> Text,
        message -> Text,
        months -> Int4,
        amount_cents -> Int4,
        currency -> Text,
        payment_key -> Text,
        gateway -> Text,
        gateway_reference -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamptz,
        paid_at -> Nullable<Timestamptz>,
        redeemed_by -> Nullable<Int8>,
        redeemed_at -> Nullable<Timestamptz>,
        grant_id -> Nullable<Int8>,
        checkout_reference -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        email -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
        role -> Text,
        login_generation -> Int4,
        email_confirmed_at -> Nullable<Timestamptz>,
        newsletter_opted_in_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    plans (code) {
        code -> Text,
        name -> Text,
        price_cents -> Int4,
        currency -> Text,
        period_months -> Int4,
        display_order -> Int4,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> Int8,
        user_id -> Int8,
        plan_code -> Text,
        status -> Text,
        current_period_start -> Timestamptz,
        current_period_end -> Timestamptz,
        canceled_at -> Nullable<Timestamptz>,
        ended_at -> Nullable<Timestamptz>,
        gateway -> Text,
        gateway_reference -> Text,
        created_at -> Timestamptz,
        period_value_cents -> Int4,
        renews -> Bool,
        synced_at -> Nullable<Timestamptz>,
        payment_failed_at -> Nullable<Timestamptz>,
        payment_due_amount -> Nullable<Int8>,
        payment_due_currency -> Nullable<Text>,
        payment_fix_url -> Nullable<Text>,
        checked_at -> Nullable<Timestamptz>,
        offer_code -> Nullable<Text>,
        trial_ends_at -> Nullable<Timestamptz>,
        trial_without_card -> Bool,
        trial_notice_at -> Nullable<Timestamptz>,
        discount_ends_at -> Nullable<Timestamptz>,
        retention_offered_at -> Nullable<Timestamptz>,
        discount_from -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    user_sessions (id) {
        id -> Int8,
        user_id -> Int8,
        token_hash -> Bytea,
        user_agent -> Text,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    meter_reads (user_id, month, article_id) {
        user_id -> Int8,
        month -> Date,
        article_id -> Int8,
        opened_at -> Timestamptz,
    }
}

diesel::table! {
    article_gifts (id) {
        id -> Int8,
        user_id -> Int8,
        article_id -> Int8,
        month -> Date,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    login_throttle (scope, key) {
        scope -> Text,
        key -> Text,
        failures -> Int4,
        window_started_at -> Timestamptz,
    }
}

diesel::table! {
    checkouts (id) {
        id -> Int8,
        user_id -> Int8,
        plan_code -> Text,
        amount_cents -> Int4,
        period_value_cents -> Int4,
        period_end_at_least -> Timestamptz,
        gateway -> Nullable<Text>,
        gateway_reference -> Nullable<Text>,
        started_at -> Timestamptz,
        payment_key -> Text,
        period_months -> Int4,
        charged_at -> Nullable<Timestamptz>,
        offer_code -> Nullable<Text>,
        discount_from -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    offers (code) {
        code -> Text,
        plan_code -> Text,
        percent_off -> Nullable<Int4>,
        amount_off_cents -> Nullable<Int4>,
        duration -> Nullable<Text>,
        duration_months -> Nullable<Int4>,
        trial_days -> Nullable<Int4>,
        ends_at -> Nullable<Timestamptz>,
        redemption_limit -> Nullable<Int4>,
        redeemed -> Int4,
        retention -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    offer_redemptions (offer_code, user_id) {
        offer_code -> Text,
        user_id -> Int8,
        redeemed_at -> Timestamptz,
    }
}

diesel::table! {
    account_tokens (id) {
        id -> Int8,
        user_id -> Int8,
        purpose -> Text,
        token_hash -> Bytea,
        new_email -> Nullable<Text>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Int8,
        kind -> Text,
        recipient -> Text,
        user_id -> Nullable<Int8>,
        detail -> Text,
        created_at -> Timestamptz,
        next_attempt_at -> Timestamptz,
        attempts -> Int4,
        expires_at -> Timestamptz,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    closed_account_payments (id) {
        id -> Int8,
        plan_code -> Text,
        gateway -> Text,
        gateway_reference -> Text,
        period_value_cents -> Int4,
        current_period_start -> Timestamptz,
        current_period_end -> Timestamptz,
        recorded_at -> Timestamptz,
        account_closed_at -> Timestamptz,
    }
}

diesel::table! {
    gateway_customers (user_id, gateway) {
        user_id -> Int8,
        gateway -> Text,
        request_key -> Text,
        reference -> Nullable<Text>,
        created_at -> Timestamptz,
        email -> Nullable<Text>,
    }
}

diesel::table! {
    hosted_checkouts (id) {
        id -> Int8,
        user_id -> Int8,
        gateway -> Text,
        plan_code -> Text,
        request_key -> Text,
        return_to -> Text,
        reference -> Nullable<Text>,
        url -> Nullable<Text>,
        expires_at -> Nullable<Timestamptz>,
        started_at -> Timestamptz,
        checked_at -> Timestamptz,
        offer_code -> Nullable<Text>,
    }
}

diesel::table! {
    gateway_events (gateway, event_id) {
        gateway -> Text,
        event_id -> Text,
        event_type -> Text,
        user_id -> Nullable<Int8>,
        applied_at -> Timestamptz,
    }
}

diesel::table! {
    newsletter_signups (id) {
        id -> Int8,
        email -> Text,
        created_at -> Timestamptz,
        confirmed_at -> Nullable<Timestamptz>,
        opted_in_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    newsletter_suppressions (email) {
        email -> Text,
        reason -> Text,
        suppressed_at -> Timestamptz,
    }
}

diesel::table! {
    newsletter_sends (id) {
        id -> Int8,
        article_id -> Int8,
        audience -> Text,
        started_by -> Nullable<Int8>,
        started_at -> Timestamptz,
    }
}

diesel::table! {
    newsletter_deliveries (id) {
        id -> Int8,
        send_id -> Int8,
        email -> Text,
        user_id -> Nullable<Int8>,
        signup_id -> Nullable<Int8>,
        whole -> Bool,
        state -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        lease_until -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    newsletter_pace (id) {
        id -> Int2,
        next_slot_at -> Timestamptz,
    }
}

diesel::table! {
    media (id) {
        id -> Int8,
        hash -> Text,
        format -> Text,
        width -> Int4,
        height -> Int4,
        alt -> Text,
        original_name -> Text,
        original_bytes -> Int8,
        uploaded_by -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    media_variants (media_id, width) {
        media_id -> Int8,
        width -> Int4,
        height -> Int4,
        format -> Text,
        byte_size -> Int4,
    }
}

diesel::table! {
    media_blobs (name) {
        name -> Text,
        body -> Bytea,
        touched_at -> Timestamptz,
    }
}

diesel::table! {
    article_media (article_id, media_id) {
        article_id -> Int8,
        media_id -> Int8,
    }
}

diesel::joinable!(articles -> users (author_id));
diesel::joinable!(articles -> media (feature_media_id));
diesel::joinable!(media_variants -> media (media_id));
diesel::joinable!(article_media -> articles (article_id));
diesel::joinable!(article_media -> media (media_id));
diesel::joinable!(media -> users (uploaded_by));
diesel::joinable!(checkouts -> users (user_id));
diesel::joinable!(account_tokens -> users (user_id));
diesel::joinable!(gateway_customers -> users (user_id));
diesel::joinable!(hosted_checkouts -> users (user_id));
diesel::joinable!(hosted_checkouts -> plans (plan_code));
diesel::joinable!(gateway_events -> users (user_id));
diesel::joinable!(checkouts -> plans (plan_code));
diesel::joinable!(offers -> plans (plan_code));
diesel::joinable!(offer_redemptions -> offers (offer_code));
diesel::joinable!(offer_redemptions -> users (user_id));
diesel::joinable!(gift_subscriptions -> access_grants (grant_id));
diesel::joinable!(subscriptions -> users (user_id));
diesel::joinable!(subscriptions -> plans (plan_code));
diesel::joinable!(user_sessions -> users (user_id));
diesel::joinable!(meter_reads -> users (user_id));
diesel::joinable!(meter_reads -> articles (article_id));
diesel::joinable!(article_gifts -> users (user_id));
diesel::joinable!(article_gifts -> articles (article_id));
diesel::joinable!(newsletter_sends -> articles (article_id));
diesel::joinable!(newsletter_deliveries -> newsletter_sends (send_id));
diesel::joinable!(newsletter_deliveries -> newsletter_signups (signup_id));

diesel::allow_tables_to_appear_in_same_query!(
    access_grants,
    articles,
    users,
    plans,
    subscriptions,
    user_sessions,
    meter_reads,
    article_gifts,
    login_throttle,
    checkouts,
    account_tokens,
    mail_outbox,
    closed_account_payments,
    gateway_customers,
    hosted_checkouts,
    gateway_events,
    newsletter_signups,
    newsletter_suppressions,
    newsletter_sends,
    newsletter_deliveries,
    newsletter_pace,
    media,
    media_variants,
    media_blobs,
    article_media,
    offers,
    offer_redemptions,
    gift_subscriptions,
);
