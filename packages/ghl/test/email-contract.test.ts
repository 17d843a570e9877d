/** A contact's email as a conversation lists it and as get-email-by-id answers it, against HighLevel's specs. */
import t from 'tap'
import { ContractChecker } from './contract.ts'
import { failure, harness, JANE, SUNRISE } from './helper.ts'

const checker = new ContractChecker()

t.test('contract: an email in a conversation\'s messages, and the email by its id, conform to HighLevel\'s specs', async (t) => {
  const { client, sandbox, connect } = await harness(t, { record: true })
  const { access_token: accessToken } = await connect(SUNRISE, ['conversations/message.readonly', 'conversations.readonly'])
  const { message } = await sandbox.control.contactEmails({ contactId: JANE, subject: 'Re: your visit', text: 'Thanks!', url: 'http://127.0.0.1:9/' })
  const emailMessageId = message.email?.emailMessageId ?? ''

  const { data: found } = await client.conversations.search({ accessToken, locationId: SUNRISE, contactId: JANE })
  const { data: page } = await client.conversations.getMessages({ accessToken, conversationId: found.conversations[0]?.id ?? '' })
  t.match(page.messages[0], { messageType: 'TYPE_EMAIL', direction: 'inbound', meta: { email: { messageIds: [emailMessageId] } } })
  const { data: email } = await client.conversations.getEmail({ accessToken, emailMessageId })
  t.match(email, { id: emailMessageId, threadId: emailMessageId, subject: 'Re: your visit', from: 'Jane Doe <jane@example.com>', body: '<div>Thanks!</div>', direction: 'inbound' })
  t.match(await failure(() => client.conversations.getEmail({ accessToken, emailMessageId: 'noSuchEmail000000001' })), { kind: 'invalid_request', status: 400 })

  const checked = sandbox.control.recorded.filter((e) => !e.url.startsWith('/oauth') && e.response.status === 200)
  t.equal(checked.length, 3)
  for (const exchange of checked) {
    t.same(checker.check(exchange), [], `${exchange.method} ${exchange.url.split('?')[0]} -> ${exchange.response.status}`)
  }
})
