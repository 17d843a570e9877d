/** A phone number as HighLevel takes it: + then the country code and number, digits only. */
export const E164 = /^\+[1-9]\d{1,14}$/
