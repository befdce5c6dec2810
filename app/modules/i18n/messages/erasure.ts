import { defineMessages } from './define.ts'

/** Account deletion (GDPR art. 17) and the retention of archived originals. */
export const erasureMessages = defineMessages(
	{
		'accountDeletion.dangerZone': 'Zone de danger',
		'accountDeletion.dangerIntro': 'La suppression de votre compte et de toutes vos photos est définitive.',
		'accountDeletion.settingsLink': 'Supprimer mon compte',
		'accountDeletion.title': 'Supprimer mon compte',
		'accountDeletion.intro': 'La suppression est définitive : ni vous ni nous ne pourrons restaurer votre compte ou vos photos.',
		'accountDeletion.deletedTitle': 'Ce qui est supprimé',
		'accountDeletion.deleted.account': 'votre compte, votre adresse e-mail et toutes vos sessions ;',
		'accountDeletion.deleted.projects':
			'vos projets et toutes vos photos : originaux, miniatures, aperçus et résultats des transformations ;',
		'accountDeletion.deleted.credits': 'votre solde de {count} crédits, qui ne sont pas remboursés, et leur historique ;',
		'accountDeletion.deleted.other': 'vos styles personnalisés, vos exports de données et votre historique de sécurité ;',
		'accountDeletion.deleted.billing':
			'votre fiche client chez Stripe, notre prestataire de paiement ; un abonnement en cours est résilié immédiatement.',
		'accountDeletion.keptTitle': 'Ce qui est conservé',
		'accountDeletion.kept.invoices':
			'Les factures de vos achats restent chez Stripe, qui les conserve pour nos obligations comptables (10 ans). Elles ne sont plus rattachées à un compte Renzo.',
		'accountDeletion.kept.trace':
			'Une trace anonyme indiquant qu’un compte a été supprimé à cette date, sans aucune donnée vous concernant.',
		'accountDeletion.exportHint': 'Vous voulez garder vos photos ? Exportez d’abord vos données :',
		'accountDeletion.stepSend': 'Étape 1 : recevoir un code par e-mail',
		'accountDeletion.confirmLabel': 'Je comprends que la suppression de mon compte est définitive.',
		'accountDeletion.send': 'Recevoir le code de confirmation',
		'accountDeletion.resend': 'Recevoir un nouveau code',
		'accountDeletion.stepConfirm': 'Étape 2 : saisir le code',
		'accountDeletion.codeSent': 'Nous avons envoyé un code à {email}. Il est valable {minutes} minutes.',
		'accountDeletion.code': 'Code de confirmation à 6 chiffres',
		'accountDeletion.codeHint': 'Le code figure dans l’e-mail « Confirmez la suppression de votre compte Renzo ».',
		'accountDeletion.confirm': 'Supprimer définitivement mon compte',
		'accountDeletion.toast.codeSent': 'Code de confirmation envoyé par e-mail.',
		'accountDeletion.error.confirmRequired': 'Cochez la case pour confirmer que vous avez bien compris.',
		'accountDeletion.error.rateLimited': 'Trop de codes demandés. Réessayez dans {minutes} min.',
		'accountDeletion.error.codeFormat': 'Le code comporte 6 chiffres.',
		'accountDeletion.error.invalidCode': 'Code incorrect. Il vous reste {remaining} essais.',
		'accountDeletion.error.invalidCodeLast': 'Code incorrect. Il vous reste 1 essai.',
		'accountDeletion.error.locked': 'Trop d’essais incorrects : ce code est bloqué. Demandez un nouveau code.',
		'accountDeletion.error.expired': 'Ce code a expiré ou a déjà servi. Demandez un nouveau code.',
		'accountDeletion.done.title': 'Votre compte est en cours de suppression',
		'accountDeletion.done.body':
			'Vous avez été déconnecté de tous vos appareils. La suppression de vos données et de vos photos se termine dans quelques minutes ; un dernier e-mail vous le confirmera.',
		'accountDeletion.done.home': 'Retour à l’accueil',
		'accountDeletion.loginRefused':
			'Ce compte est en cours de suppression, à votre demande : on ne peut plus s’y connecter. Une fois la suppression terminée, vous pourrez créer un nouveau compte avec la même adresse.',
		'accountDeletion.email.subject': 'Confirmez la suppression de votre compte Renzo : {code}',
		'accountDeletion.email.body':
			'Vous avez demandé la suppression définitive de votre compte Renzo. Pour confirmer, saisissez ce code sur la page de suppression :',
		'accountDeletion.email.expiry': 'Ce code est valable {minutes} minutes et ne sert qu’une fois.',
		'accountDeletion.email.ignore':
			'Vous n’êtes pas à l’origine de cette demande ? Ignorez cet e-mail : votre compte reste intact. Par précaution, déconnectez vos autres appareils depuis votre compte.',
		'accountDeletion.email.doneSubject': 'Votre compte Renzo a été supprimé',
		'accountDeletion.email.doneBody':
			'Votre compte Renzo et toutes les données qui s’y rattachaient (projets, photos, transformations, crédits) ont été supprimés définitivement.',
		'accountDeletion.email.doneInvoices':
			'Les factures de vos achats restent chez Stripe pour nos obligations comptables. Votre adresse n’est plus enregistrée chez nous : ce message est le dernier que vous recevrez.',
		'retention.originalPurged': 'Original supprimé après archivage (conservation : {days} jours)',
	},
	{
		'accountDeletion.dangerZone': 'Danger zone',
		'accountDeletion.dangerIntro': 'Deleting your account and all your photos cannot be undone.',
		'accountDeletion.settingsLink': 'Delete my account',
		'accountDeletion.title': 'Delete my account',
		'accountDeletion.intro': 'Deletion is permanent: neither you nor we can restore your account or your photos.',
		'accountDeletion.deletedTitle': 'What is deleted',
		'accountDeletion.deleted.account': 'your account, your email address and all your sessions;',
		'accountDeletion.deleted.projects': 'your projects and all your photos: originals, thumbnails, previews and transformation results;',
		'accountDeletion.deleted.credits': 'your balance of {count} credits, which is not refunded, and its history;',
		'accountDeletion.deleted.other': 'your custom styles, your data exports and your security history;',
		'accountDeletion.deleted.billing': 'your customer record at Stripe, our payment provider; a running plan is cancelled at once.',
		'accountDeletion.keptTitle': 'What is kept',
		'accountDeletion.kept.invoices':
			'The invoices of your purchases stay at Stripe, which keeps them for our accounting obligations (10 years). They are no longer linked to a Renzo account.',
		'accountDeletion.kept.trace': 'An anonymous record that an account was deleted on that date, with no data about you.',
		'accountDeletion.exportHint': 'Want to keep your photos? Export your data first:',
		'accountDeletion.stepSend': 'Step 1: get a code by email',
		'accountDeletion.confirmLabel': 'I understand that deleting my account is permanent.',
		'accountDeletion.send': 'Send me the confirmation code',
		'accountDeletion.resend': 'Send me a new code',
		'accountDeletion.stepConfirm': 'Step 2: enter the code',
		'accountDeletion.codeSent': 'We sent a code to {email}. It is valid for {minutes} minutes.',
		'accountDeletion.code': '6-digit confirmation code',
		'accountDeletion.codeHint': 'The code is in the email “Confirm the deletion of your Renzo account”.',
		'accountDeletion.confirm': 'Delete my account for good',
		'accountDeletion.toast.codeSent': 'Confirmation code sent by email.',
		'accountDeletion.error.confirmRequired': 'Tick the box to confirm that you understand.',
		'accountDeletion.error.rateLimited': 'Too many codes requested. Try again in {minutes} min.',
		'accountDeletion.error.codeFormat': 'The code has 6 digits.',
		'accountDeletion.error.invalidCode': 'Wrong code. {remaining} tries left.',
		'accountDeletion.error.invalidCodeLast': 'Wrong code. 1 try left.',
		'accountDeletion.error.locked': 'Too many wrong tries: this code is blocked. Ask for a new code.',
		'accountDeletion.error.expired': 'This code has expired or was already used. Ask for a new code.',
		'accountDeletion.done.title': 'Your account is being deleted',
		'accountDeletion.done.body':
			'You have been logged out of all your devices. The deletion of your data and photos finishes within a few minutes; a last email will confirm it.',
		'accountDeletion.done.home': 'Back to the home page',
		'accountDeletion.loginRefused':
			'This account is being deleted, as you asked: it can no longer be logged into. Once the deletion is over, you can create a new account with the same address.',
		'accountDeletion.email.subject': 'Confirm the deletion of your Renzo account: {code}',
		'accountDeletion.email.body':
			'You asked for your Renzo account to be deleted for good. To confirm, enter this code on the deletion page:',
		'accountDeletion.email.expiry': 'This code is valid for {minutes} minutes and works only once.',
		'accountDeletion.email.ignore':
			'You did not ask for this? Ignore this email: your account stays as it is. To be safe, log out your other devices from your account.',
		'accountDeletion.email.doneSubject': 'Your Renzo account has been deleted',
		'accountDeletion.email.doneBody':
			'Your Renzo account and all the data attached to it (projects, photos, transformations, credits) have been deleted for good.',
		'accountDeletion.email.doneInvoices':
			'The invoices of your purchases stay at Stripe for our accounting obligations. Your address is no longer stored by us: this is the last message you will get.',
		'retention.originalPurged': 'Original deleted after archiving (kept for {days} days)',
	},
)
