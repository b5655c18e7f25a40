# witness-drop: texts of the source interface, English.
# Every id here must exist in az/ and ru/ too (checked by a test), and every id must be used.

## Every page
lang-switch-label = Language
skip-to-content = Skip to the content
onion-warning-title = You are not using the onion address
onion-warning-text = To protect yourself, close this page and open this site in Tor Browser at this address:
footer-text = This site uses no JavaScript, no cookies before you log in, and loads nothing from other sites.
back-to-start = Back to the start page

## Landing page
landing-title = { $org }: send testimony safely
landing-intro = If you were held, tortured or mistreated in detention, or saw it happen to others, you can tell { $org } here. You do not need to give your name.
landing-who-reads = What you send is encrypted the moment it arrives. Only a small team of { $org } reviewers can read it, on a computer that is never connected to the internet. The people who run this server cannot read it.
landing-submit-button = Send testimony or files
landing-login-intro = Have you sent something before and received a codename?
landing-login-button = Log in with your codename
safety-heading = How to stay safe
safety-tor = Use Tor Browser at the "Safest" security level: click the shield icon, then "Settings…", and under "Security Level" choose "Safest". If Tor Browser restarts, open this site again. This site works fully without JavaScript.
safety-device = Do not use a computer or phone from work, from someone else, or one that others check. Do not use a work or school network. If you can, use a device and a connection nobody links to you.
safety-metadata = Photos and documents can contain hidden information: the place and time a photo was taken, the phone model, the author's name. If you can, remove it before sending, for example by taking a screenshot of a photo, or by printing a document to a new PDF.
safety-metadata-cant = If you cannot remove it, send the file anyway: the reviewers know about hidden information and will check for it before anything is shared.
safety-after = When you have finished, close Tor Browser. Do not save the files you sent in places others can see.
what-happens-heading = What happens to what you send
what-happens-text = Your message and files are encrypted as they arrive and stored only in encrypted form. The reviewers copy them to an offline computer, read them there, and may contact you through this site if you keep your codename.
retention-text = Material is removed from this server after the reviewers have copied it, following a fixed schedule.
promise-heading = What we can and cannot promise
promise-can = We do not record your IP address or your browser. Outside the encrypted copy, the server keeps only the day you sent, not the time. Nobody outside the review team can read what you send.
promise-cannot = We cannot protect you if someone watches your screen or controls your device, and we cannot make hidden information in your files disappear. Details that only you know can show who wrote the message: decide for yourself what to include.

## Submission form
submit-title = Send testimony
submit-intro = Write in any language. You can send a message, files, or both.
submit-message-label = Your message
submit-message-hint = Say what happened, when and where, and who was involved, as far as you feel safe to. At most { $kib } KiB of text; put longer texts in a file.
submit-files-label = Files (optional)
submit-files-hint = You can choose several files. All files together may be at most { $limit }.
submit-check-hint = Before you send, check what your browser shows next to the "Browse…" button: only the files chosen there will be sent.
submit-slow-hint = Over Tor, large files can take a long time, even an hour. Keep this page open until you see the confirmation.
submit-button = Send securely
honeypot-label = Leave this field empty

## Guided questions and consent (the submission form and the inbox's follow-up form)
guided-summary = Questions that can help (optional)
guided-intro = If you want, these questions can help you tell us what lawyers and international bodies usually ask about. Every question is optional: skip anything you do not want to answer. What you wrote above is enough on its own. Write only what you feel safe to write.
guided-when-label = When did it happen?
guided-when-hint = A rough time is fine, for example "spring 2023" or "the week after the protest".
guided-where-label = Where did it happen?
guided-where-hint = If you can, the town and what kind of place it was. Any place counts, even one that was not official.
guided-who-label = If you want, tell us who was responsible.
guided-who-hint = Anything you remember can help: names, ranks, uniforms, units, or what the people looked like and what they were called.
guided-acts-label = If you want, tell us what was done.
guided-acts-hint = Only as much as you want to say. It can help to know how, for how long and how often, but you do not have to give details.
guided-injuries-label = Health since then
guided-injuries-hint = For example marks or pain that stayed, trouble sleeping, or how you feel now; and whether you could see a doctor, or care was refused.
guided-witnesses-label = Who else saw it or knows about it?
guided-witnesses-hint = For example other people who were held with you, a lawyer, or relatives. Write their names only if you think it is safe for them.
guided-complaints-label = Did you or anyone else complain about it?
guided-complaints-hint = For example to an official, a court, an ombudsman or anyone else: to whom, when, and what came of it.
guided-role-legend = How do you know about what you describe?
guided-role-self = It happened to me
guided-role-witness = I saw it happen to someone else
guided-role-relative = It happened to someone in my family
guided-role-lawyer = I am the lawyer of the person it happened to
guided-role-other = In another way
guided-skip = I would rather not say
guided-danger-legend = Are you or your family in danger now?
guided-danger-hint = This helps our team know how careful to be when they answer you.
guided-danger-no = No
guided-danger-yes = Yes
guided-danger-unsure = I am not sure
consent-summary = How we may use what you send
consent-default-note = If you choose nothing: only for our own records, without your name.
consent-intro = You decide. You can change your choice later on your messages page, after logging in with your codename; your newest choice counts for everything you have sent. We never use your name unless you tick the box below.
consent-legend = What may we do with what you send?
consent-records = Keep it only in our own records. Nobody outside our team sees it.
consent-legal = Also share it with lawyers and with international bodies, such as the European Court of Human Rights or the United Nations.
consent-publish = All of the above, and also publish it, for example in a report.
consent-name-label = You may use my name, if I gave it.
consent-name-hint = If you leave this unticked, we will never use your name, even where we share or publish what you sent.
consent-change-summary = Change how we may use what you send
consent-change-intro = This page cannot show your earlier choice, but it is kept, encrypted, with what you sent. Choose again only if you want to change it: your newest choice counts for everything you have sent. You can send a new choice on its own, without a message.
consent-current-intro = Your current choice is marked below. Change it only if you want to: your newest choice counts for everything you have sent. You can send a new choice on its own, without a message.
consent-keep = Keep my earlier choice
consent-name-change-hint = If you choose again above, we will not use your name unless you tick this box.

## Receipt
receipt-title = Thank you. Your submission is stored safely.
receipt-files = { $count ->
    [one] { $count } file was received.
   *[other] { $count } files were received.
}
receipt-encrypted = Everything was encrypted as it arrived. Only the reviewers can read it, on a computer that is not connected to the internet.
receipt-next-heading = What to do now
receipt-next-close = When you no longer need this page, close this browser window, or choose "New Identity" in Tor Browser's menu, so that nobody using this device after you can see this page.
receipt-codename-heading = Your codename
receipt-codename-text = This codename is the only way to come back, read answers from the reviewers and send more. Memorise it, or write it down and hide it where nobody will find it. Tell it to nobody: anyone who has it can read the answers to you. We do not store it and cannot show it again.
receipt-consent-heading = How we may use what you sent
receipt-consent-records = Only for our own records.
receipt-consent-legal = For our own records, and it may also be shared with lawyers and international bodies, such as the European Court of Human Rights or the United Nations.
receipt-consent-publish = For our own records, for lawyers and international bodies, and it may also be published, for example in a report.
receipt-consent-kept = Your earlier choice about how we may use what you send stays as it was.
receipt-name-yes = We may use your name, if you gave it.
receipt-name-no = We will not use your name.
receipt-large-files = If you have large files to send, it is best to send them one at a time: log in with your codename and send each one from your messages page. Each file is stored as soon as it arrives, so if the connection breaks, you only need to send that one again.
receipt-codename-use = To come back, open this site in Tor Browser and choose "Log in with your codename".

## Login and inbox
login-title = Log in with your codename
login-label = Your codename
login-hint = The English words you received after your first submission. Capital letters and spaces do not matter.
login-button = Log in
login-failed = That codename did not work. Check it and try again.
inbox-title = Your messages
inbox-replies-heading = Answers from the reviewers
inbox-no-replies = There are no answers yet. Come back in a few days.
inbox-reply-day = Received on { $day }
inbox-delete-button = Delete this answer
inbox-send-heading = Send more
inbox-large-files = Large files are best sent one at a time from this page. Each file is stored as soon as it arrives, so if the connection breaks, you only need to send that one again.
inbox-consent-unknown = This page cannot show your earlier choice. It is kept, encrypted, with what you sent, and it still counts.
inbox-consent-change = You can change it at any time below, under "Change how we may use what you send". Your newest choice counts for everything you have sent. This page shows your choice only to you, after you log in with your codename.
inbox-logout-button = Log out
inbox-sent-title = Thank you. Your follow-up is stored safely.
inbox-sent-consent-title = Thank you. Your new choice is stored safely.
inbox-back = Back to your messages

## Errors
error-400-title = The form could not be read
error-400-text = Nothing was stored. Please go back and send the form again.
error-empty-title = Nothing to send
error-empty-text = Please write a message, answer a question or choose at least one file. Nothing was stored.
error-403-title = The form was not sent
error-403-text = This form must be sent from this site itself. Nothing was stored. Open the start page, then the form, and send it again.
error-404-title = Page not found
error-404-text = This page does not exist.
error-408-title = The upload took too long
error-408-text = The connection stalled. Nothing was stored. Please try again, perhaps with fewer files at a time.
error-413-title = Too large
error-413-files = All files together may be at most { $limit }. Nothing was stored. Send fewer or smaller files, or split them over several submissions.
error-413-message = Your message and your answers to the questions may be at most { $kib } KiB of text together. Put longer texts in a file and attach it. Nothing was stored.
large-files-tip = Large files are best sent one at a time. If you have a codename, log in and send each file from your messages page; if not, send your message first, without files, to get one. Each file sent this way is stored as soon as it arrives, so if the connection breaks, you only need to send that one again.
error-413-count = One submission may have at most { $max } files. Nothing was stored.
error-503-title = Busy, please try again
error-503-text = Many people are using this site at this moment. Nothing was stored and nothing is lost: please try again in a few minutes.
error-full-title = The drop is full for now
error-full-text = Nothing was stored and nothing is lost. There is no room for new material at the moment: please try again later, in a few hours.
error-500-title = Something went wrong
error-500-text = Your submission was not stored. Please try again later.
error-401-title = Please log in again
error-401-text = Your session has ended. Log in again with your codename.
tor2web-title = Do not use a Tor2web proxy
tor2web-text = You reached this site through a "Tor2web" proxy. The proxy can see everything you send and who you are, so this site does not accept submissions through it. Install Tor Browser and open the onion address directly.
