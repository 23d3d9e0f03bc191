"""The dashboard's sections, in navigation order. Sections whose issue has not landed say so plainly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    url_name: str
    summary: str
    owner_only: bool = False


SECTIONS = [
    Section("overview", "Overview", "overview", "What the referral program earns, at a glance."),
    Section("clients", "Clients", "clients:index", "Your clients, who referred whom, segments and imports."),
    Section("bookings", "Bookings", "bookings:index", "The schedule, confirmations, check-out and payments."),
    Section(
        "services",
        "Services",
        "services:index",
        "Your catalog of services and programmes, prices and payment plans.",
    ),
    Section(
        "hours",
        "Opening hours",
        "businesses:opening_hours",
        "When clients can book online, and whether their bookings arrive confirmed.",
        owner_only=True,
    ),
    Section(
        "referrals",
        "Referrals",
        "referrals:index",
        "Program rules, referral links, the board and leaderboard.",
    ),
    Section("rewards", "Rewards", "rewards:index", "Coupons, store credit, points, service credits, milestones."),
    Section(
        "campaigns",
        "Autopilots & Campaigns",
        "campaigns:index",
        "Thank-you and encourage-referral autopilots, promotions and e-mail campaigns.",
    ),
    Section(
        "widget",
        "Widget",
        "widgets:index",
        "The booking widget for your website and your clients' profile page.",
        owner_only=True,
    ),
    Section("settings", "Settings", "businesses:settings", "Business details and your team.", owner_only=True),
]

SECTIONS_BY_KEY = {section.key: section for section in SECTIONS}
