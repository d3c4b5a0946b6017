// Package synth generates a reproducible synthetic population of people
// in medication assisted treatment (MAT) in Scotland, for `matcare seed`,
// demos, tests and load tests (DOMAIN.md §5). Names, numbers and stories
// are made up; every resource carries the meta.tag HTEST (test health
// data). The same Config always yields the same bytes; each board's
// population depends only on the seed, the board code and the other
// settings, not on which other boards are generated with it.
//
// Generate yields writes: a resource with the version it makes. A Goal
// review, a care plan's change, an episode's end, a response completed
// later are new versions of the same resource (same id), in the order of
// the clinical times they record, so that writing them in order through
// the service (`matcare seed`) runs every content check on every version
// with the state it was made in, and _history is the time series the
// measures and analysts read. Every write passes the server's checks:
// no error issue from clinical.Check, clinical.GoalReview,
// clinical.Prescribing, questionnaire.Validate and Score, or the
// terminology's CheckCodings; the warnings they return are data the
// checks are meant to find (below). The tests run every version through
// those checks, and seed the population through the service.
//
// # What is generated
//
// Per board: the health board (Organization with identifier
// <base>/sid/health-board = the S08 code), its Alcohol and Drug
// Partnerships (the council areas that work with the board; partOf the
// board; identifier <base>/sid/adp), per ADP a community drug and
// alcohol service and an assertive outreach team, the board's prison
// healthcare and hospital addictions liaison services (each partOf an
// ADP), two GP practices, and Practitioners (keyworkers, two
// prescribers, a psychologist, the GPs). A CarePlan's author is the
// service (the measures' service stratifier; its partOf chain gives the
// ADP and board).
//
// Per person: a Patient (claims matcare-patient; a valid CHI number
// matching birth date and sex; generalPractitioner a GP practice;
// district the ADP's area), sometimes a RelatedPerson whom the person
// agreed the service may contact (outreach-contact-consent on the
// plans, and a member of the care team); a MAT episode CarePlan
// (category mat-episode; period.start the first contact; referral-date,
// care-setting; activities: the ost-prescription with its
// scheduledPeriod.start the prescription start and dailyAmount in mg,
// instalment dispensing, harm reduction, psychosocial tiers, shared care,
// social support, mental health care, high-risk events and outreach,
// bps-assessment with outcomeReference to the response); version 1 at
// first contact (the prescription planned, status scheduled), version 2
// when the prescription starts if later, a last version with what
// followed and, for an ended episode, period.end and episode-end-reason,
// status completed (planned completion, transfer) or revoked, activities
// still going stopped; a CareTeam (keyworker, prescriber, the GP for
// shared care with role SNOMED CT 62247001 "General practitioner", the
// psychologist, the relative; inactive once the episode ended); a MAT
// medication Goal (category mat-standard MAT2) with the person's
// participation; for about a third, a benzodiazepine care plan (category
// benzo-care-plan, partOf the episode; benzo-prescription activities
// coded from CodeSystem benzodiazepine, diazepam mostly, chlordiazepoxide
// for a detox, zopiclone beside diazepam; doses in UCUM mg; stop criteria;
// instalments; goal-review activities, completed with their findings as
// outcomeCodeableConcept, and the next one scheduled) with 1-3 shared
// Goals (claim matcare-benzo-goal: a benzo-goal-category, a
// treatment-orientation, a mat-standard; expressedBy and goal-acceptance
// as the case says; next-review-date). Every few weeks, then months, a
// review round writes a new version of each goal reviewed
// (goal-review-finding, statusDate, statusReason, achievementStatus, the
// next review date) and of the plan (doses tapered under a detox goal).
// Findings: progressing; lapse (stays active, worsening); relapse
// (worsening or no-progress; a prescription-review and a new assessment
// follow); presented-intoxicated; non-fatal-overdose (a high-risk-event
// and a timely outreach contact on the episode); concern-raised; goal met
// (completed, achieved; a detox goal met ends the taper); goal no longer
// relevant (cancelled, with goal-relationship type replacement to a new
// Goal written just before). When an episode ends, its goals still open
// get a last version, completed or cancelled (a status change, not a
// review). Assessments: the bio-psycho-social assessment (Questionnaire
// bps-benzo; completed with the 5P formulation, the risk flags, the
// prescribing decision and, when prescribing, the consent; or in
// progress with substance use and motivation only) and the Severity of
// Dependence Scale (sds-benzo; five items, no total: the server adds it
// and its Observation). Reviews' dates never equal a goal's target date.
//
// Times are UK civil times with their offset (+00:00 in winter, +01:00
// in summer, computed from the BST rule, not the system's zone
// database); one case writes its prescription start in UTC ("Z"). The
// working-day calendar is Monday to Friday without Scotland's bank
// holidays (bankHolidays: New Year, 2 January, Good Friday, the May and
// August Mondays, St Andrew's Day, Christmas, Boxing Day, with
// substitute days; no one-off or local holidays).
//
// # The case mix, and which measure each case serves
//
// The first 18 people of every board follow caseMix, row by row (rows
// 0-17 below); the others draw their case at random with rough caseload
// proportions. So a population of 18 per board exercises the numerator,
// the denominator and the exclusions of every measure of DOMAIN.md §1.4
// and every prescribing check; more people add volume, not cases. Rows
// name the first episode; "open" means still going at the epoch.
//
//	row  first contact -> prescription start      setting    end (days)                     benzodiazepine plan
//	0    same-day (2-5 h)                         community  open                           same day; diazepam 20
//	1    next-day                                 community  planned-completion (300-420)   later; chlordiazepoxide taper (detox)
//	2    weekend: Fri 15:30-16:30 -> Mon          community  unplanned-discharge (10-25)    -
//	3    holiday-eve -> after the bank holiday    community  transfer (90-150)              same day; diazepam 40
//	4    late-same-day: 18:00-19:30 -> by 23:00   hospital   open                           same day; diazepam 30, high risk
//	5    late-next-day: 20:00-21:30 -> next am    outreach   death (120-300)                -
//	6    bst-start: Sat 22:30 GMT -> Mon BST      hospital   open                           later; diazepam 15 + zopiclone
//	7    bst-end: Fri 16:20 BST -> Mon GMT        community  unplanned-discharge (60-150),  later; goals only proposed
//	                                                         then a second episode
//	8    utc-midnight: 19:00-20:00 -> 00:20-00:50 hospital   open                           same day, before any assessment,
//	     BST next day, written in UTC                                                       no stop criteria
//	9    prison-same-day                          prison     person-chose-to-leave (40-90)  -
//	10   2-3 working days                         community  open                           later; no instalments anywhere
//	11   4-5 working days                         community  planned-completion (190-260)   later; diazepam taper, raised at the first review
//	12   6-15 working days                        community  open                           later; dose unit "milligrams" not UCUM
//	13   declined: OST cancelled, no start        community  open                           same day; diazepam 10
//	14   error-first: same-day activity entered   community  prison (30-120)                -
//	     in error, real start next working day
//	15   holiday: first contact on a bank holiday hospital   unplanned-discharge (5-20)     same day; diazepam 10
//	16   draft: booked after the epoch            community  (draft)                        -
//	17   benzo-only: no MAT episode               community  open                           same day; opioid dependence, no OST
//
// Measures (DOMAIN.md §1.4) and the rows that serve them:
//
//   - mat1-same-day: numerator 0, 4, 9; denominator only 1-3, 5-8, 10-12,
//     14, 15 (8: same UTC date, next UK date - not same day; 14: the
//     entered-in-error activity must be ignored, or it would count as
//     same day); no prescription start, excluded: 13 (cancelled), 16
//     (draft), 17 (no episode), 14's duplicate episode entered in error.
//   - mat1-days-to-start, band by working days: 0 (0, 4, 9), 1 (1, 2, 3,
//     5, 6, 7, 8, 14, 15: the weekend, bank holiday and clock-change rows
//     are 1 working day), 2-3 (10), 4-5 (11), over 5 (12).
//   - mat1b-benzo-same-day-plan: benzodiazepine use is recorded at first
//     contact by an assessment (bio.use.substances street-benzodiazepine)
//     or an SDS response authored that day; numerator (benzo care plan
//     and immediate-harm-reduction Goal made the day of first contact) 0,
//     3, 4, 8, 13, 15; plan on a later day 1, 6, 7, 10, 11, 12.
//   - mat2-informed-choice (the MAT medication Goal): expressedBy the
//     Patient 0, 4, 5, 7, 8, 11, 12, 14, 15, 10 (no goal-acceptance);
//     goal-acceptance agree, expressed by a worker 1, 13; not in the
//     numerator: pending 3, a worker alone 2, nobody 6 (a warning), no
//     MAT goal 9. Medication strata: methadone, SL buprenorphine (1, 5,
//     10), depot buprenorphine (6), methadone then depot (12).
//   - mat2-dose-in-range: open and in range 0, 4; below 10 (SL
//     buprenorphine 4-10 mg); above 8 (methadone 125-150 mg); until they
//     ended also below 2, 15 and above 3, 5; on depot buprenorphine
//     (neither) 6, and 12 since its switch from methadone.
//   - mat3-nfod-contact: high-risk-event activities (reasonCode from
//     CodeSystem high-risk-event; the outreach-contact carries the same
//     reasonCode): contact within 1-2 days 3 (prison-release), 4
//     (non-fatal-overdose from a goal review), 6 (detox-discharge), 13
//     (unplanned-discharge); late (5-8 days) 5 (an overdose before the
//     episode: the outreach contact is its first contact); none 9
//     (prison-release); tried and not reached (a cancelled
//     outreach-contact) 13 (non-fatal-overdose); entered in error,
//     excluded: 13's duplicate.
//   - mat3-nfod-mat-offered: outcome (outreach-outcome) mat-offered 6;
//     strata mat-started 5, mat-continued 3, 4; not offered: mat-declined
//     and not-reached 13, no contact 9.
//   - mat4-harm-reduction-offered: every intervention done 0, 3, 4, 5, 7,
//     8, 11-15, 17; some declined (cancelled, statusReason) 1, 6, 9, 10;
//     none recorded 2. Injecting (bio.use.item.route injected; IEP,
//     injecting-risk-assessment and wound-care offered): 0, 2, 4, 5, 9,
//     12, 14.
//   - mat5-retained-6m: open 0, 4, 6, 8, 10, 12, 13; ended after 182
//     days 1, 11; ended earlier 2, 7, 9, 14, 15; excluded (death,
//     transfer) 5, 3.
//   - mat5-unplanned-discharge: numerator 2, 15 (both within 28 days of
//     the start), 7; other ends 1, 3, 5, 9, 11, 14 (every
//     episode-end-reason code appears).
//   - mat6-psychosocial: tier-1 every active row; tier-2 0, 6, 10, 12,
//     17; tier-3 1, 11; tier-4 4; none 2.
//   - mat7-shared-care: GP in the CareTeam and a shared-care-primary-care
//     activity 0, 3, 6, 11; GP in the CareTeam only 1, 4, 8, 10, 12, 14;
//     neither 2, 5, 7, 9, 13, 15, 17.
//   - mat8-advocacy-social: housing-support 0, 6; welfare-income-support
//     1; independent-advocacy 6; housing need (social.housing.secure
//     false) without support 2.
//   - mat9-mh-at-point-of-delivery: co-occurring (psych.mental-health.
//     co-occurring true) with a mental-health-care activity 0, 4, 12;
//     without 3, 13; no co-occurring problem elsewhere.
//   - mat10-formulation: completed assessment with the 5P formulation in
//     the episode 0, 1, 3-13 (6 completed a week after first contact,
//     earlier in progress), 15, 17 (a benzodiazepine plan without an
//     episode); in progress only 2; none 14, 16; 7's second episode has
//     only the first episode's assessment; entered in error, excluded:
//     15's duplicate.
//   - goal-patient-participation (every Goal): expressedBy the Patient
//     with or without goal-acceptance agree, a worker with agree
//     (counted), a worker with pending or without acceptance, nobody (not
//     counted); rejected 7 and entered in error 11's duplicate
//     (excluded).
//   - goal-review-overdue: a goal whose reviews stop after one
//     ("steady": 6, 10, 12, 17, and 1 until its episode ended) keeps a
//     next-review-date before the epoch while active; the other open
//     goals are reviewed up to the epoch, the next review after it.
//   - dat-wait-3wk: referral-date 2-14 days before first contact in most
//     community rows; more than 21 days 2 (25) and 12 (30); no referral
//     date (hospital, outreach) 4, 5, 6, 8, 15.
//   - Every measure's exclusions: records entered in error (a duplicate
//     CarePlan 14, Goal 11, CareTeam 2, SDS response 10, assessment 15, a
//     high-risk-event activity 13), the draft episode 16 and the
//     restricted Patient 15 (meta.security v3-Confidentiality R).
//
// The prescribing checks the benzodiazepine plans exercise (warnings or
// information, stored with the data): BZ-01 (unit not UCUM) 12; BZ-02 6;
// BZ-03 1, 6; BZ-04 3; BZ-05 4 (previous overdose, 30 mg start); BZ-06
// and BZ-10 7 (goals only proposed, no review booked); BZ-07 and BZ-12 8
// (prescribed before the assessment, no stop criteria); BZ-08 17; BZ-09
// 10; BZ-11 11. Two profile warnings are expected too: a goal nobody is
// recorded as expressing (6's MAT goal, 17's second goal), and a depot
// buprenorphine prescription without a dailyAmount (its dose is a
// monthly quantity).
package synth
