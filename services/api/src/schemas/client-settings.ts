import { Type, type Static } from 'typebox'

export const QuietHoursBody = Type.Object({
  start: Type.String({ minLength: 1, maxLength: 5, description: 'Local time "HH:MM" (24-hour) from which no SMS goes out, e.g. "21:00"' }),
  end: Type.String({ minLength: 1, maxLength: 5, description: 'Local time "HH:MM" at which sending resumes, e.g. "08:00" (earlier than start: spans midnight)' }),
  timeZone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. "America/New_York"' }),
}, { additionalProperties: false })

export const ClientSettingsBody = Type.Object({
  quietHours: Type.Union([QuietHoursBody, Type.Null()], { description: 'null: no quiet hours (the default)' }),
  defaultFromNumber: Type.Union([Type.String({ minLength: 1, maxLength: 32 }), Type.Null()], {
    description: "The sender number (E.164) for messages that name none; null: the sub-account's own",
  }),
}, { additionalProperties: false })
export type ClientSettingsBody = Static<typeof ClientSettingsBody>
