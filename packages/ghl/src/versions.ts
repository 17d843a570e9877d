/** HighLevel versions each endpoint separately; a wrong one is refused. */
export const GHL_VERSIONS = {
  contacts: '2021-07-28',
  locations: '2021-07-28',
  conversations: '2021-04-15',
  oauth: '2021-07-28',
  opportunities: '2021-07-28',
  calendars: '2021-04-15',
} as const
