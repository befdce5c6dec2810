import { defineMessages } from './define.ts'

export const twoFactorMessages = defineMessages(
	{
		'twoFactor.title': 'Double authentification',
		'twoFactor.intro':
			'En plus du code reçu par e-mail, Renzo vous demandera à chaque connexion un code de votre application d’authentification (Google Authenticator, Microsoft Authenticator, 1Password…).',
		'twoFactor.statusOn': 'Activée depuis le {date}.',
		'twoFactor.statusOnShort': 'Activée.',
		'twoFactor.statusOff': 'Désactivée.',
		'twoFactor.manage': 'Gérer la double authentification',
		'twoFactor.start': 'Activer la double authentification',
		'twoFactor.required': 'Votre compte administrateur doit être protégé par la double authentification : activez-la pour continuer.',
		'twoFactor.code': 'Code de l’application (6 chiffres)',
		'twoFactor.codeHint': 'Le code change toutes les 30 secondes.',

		'twoFactor.enrol.scan': '1. Scannez ce QR code avec votre application d’authentification.',
		'twoFactor.enrol.qrAlt': 'QR code à scanner avec votre application d’authentification',
		'twoFactor.enrol.manual': '2. Ou, si vous ne pouvez pas scanner, saisissez cette clé dans l’application :',
		'twoFactor.enrol.confirmIntro': '3. Saisissez le code à 6 chiffres affiché par l’application pour terminer.',
		'twoFactor.enrol.confirm': 'Activer',
		'twoFactor.enrol.cancel': 'Annuler',

		'twoFactor.recovery.title': 'Vos codes de secours',
		'twoFactor.recovery.intro':
			'Notez ces {count} codes et gardez-les en lieu sûr : ils ne seront plus jamais affichés. Si vous n’avez plus votre téléphone, chacun permet de vous connecter une fois.',
		'twoFactor.recovery.done': 'J’ai noté mes codes',
		'twoFactor.recovery.left': 'Codes de secours restants : {count}',
		'twoFactor.recovery.regenerate': 'Générer de nouveaux codes de secours',
		'twoFactor.recovery.regenerateHint': 'Les anciens codes de secours cesseront de fonctionner.',

		'twoFactor.disable.title': 'Désactiver la double authentification',
		'twoFactor.disable.code': 'Code de l’application ou code de secours',
		'twoFactor.disable.codeHint': 'Les 6 chiffres affichés par l’application, ou l’un de vos codes de secours (par exemple abcde-23456).',
		'twoFactor.disable.submit': 'Désactiver',
		'twoFactor.disabled': 'La double authentification est désactivée.',

		'twoFactor.login.title': 'Double authentification',
		'twoFactor.login.intro': 'Dernière étape : saisissez le code à 6 chiffres affiché par votre application d’authentification.',
		'twoFactor.login.submit': 'Valider',
		'twoFactor.login.useRecovery': 'Vous n’avez pas votre téléphone ? Utilisez un code de secours',
		'twoFactor.login.recoveryCode': 'Code de secours',
		'twoFactor.login.recoveryHint': 'L’un des 10 codes notés à l’activation, par exemple abcde-23456. Chaque code ne sert qu’une fois.',
		'twoFactor.login.recoverySubmit': 'Valider le code de secours',
		'twoFactor.login.noPending':
			'Aucune connexion en attente dans ce navigateur, ou elle a expiré (10 minutes). Recommencez depuis la page de connexion.',
		'twoFactor.login.restart': 'Recommencer la connexion',

		'twoFactor.error.codeFormat': 'Saisissez les 6 chiffres de l’application, ou un code de secours de 10 caractères.',
		'twoFactor.error.invalidCode': 'Code incorrect. Il vous reste {remaining} essais.',
		'twoFactor.error.invalidCodeLast': 'Code incorrect. Il vous reste 1 essai.',
		'twoFactor.error.reusedCode': 'Ce code a déjà servi. Attendez que l’application en affiche un nouveau.',
		'twoFactor.error.locked': 'Trop d’essais incorrects. Réessayez dans {minutes} min.',
		'twoFactor.error.expired': 'Cette étape a expiré ou n’est plus valable. Recommencez.',
		'twoFactor.error.required': 'Votre compte administrateur doit rester protégé par la double authentification.',
	},
	{
		'twoFactor.title': 'Two-factor authentication',
		'twoFactor.intro':
			'On top of the code sent by email, Renzo will ask at every login for a code from your authenticator app (Google Authenticator, Microsoft Authenticator, 1Password…).',
		'twoFactor.statusOn': 'On since {date}.',
		'twoFactor.statusOnShort': 'On.',
		'twoFactor.statusOff': 'Off.',
		'twoFactor.manage': 'Manage two-factor authentication',
		'twoFactor.start': 'Turn on two-factor authentication',
		'twoFactor.required': 'Your admin account must be protected by two-factor authentication: turn it on to continue.',
		'twoFactor.code': 'App code (6 digits)',
		'twoFactor.codeHint': 'The code changes every 30 seconds.',

		'twoFactor.enrol.scan': '1. Scan this QR code with your authenticator app.',
		'twoFactor.enrol.qrAlt': 'QR code to scan with your authenticator app',
		'twoFactor.enrol.manual': '2. Or, if you cannot scan, enter this key in the app:',
		'twoFactor.enrol.confirmIntro': '3. Enter the 6-digit code shown by the app to finish.',
		'twoFactor.enrol.confirm': 'Turn on',
		'twoFactor.enrol.cancel': 'Cancel',

		'twoFactor.recovery.title': 'Your recovery codes',
		'twoFactor.recovery.intro':
			'Write down these {count} codes and keep them somewhere safe: they will never be shown again. If you no longer have your phone, each one logs you in once.',
		'twoFactor.recovery.done': 'I have saved my codes',
		'twoFactor.recovery.left': 'Recovery codes left: {count}',
		'twoFactor.recovery.regenerate': 'Generate new recovery codes',
		'twoFactor.recovery.regenerateHint': 'The old recovery codes will stop working.',

		'twoFactor.disable.title': 'Turn off two-factor authentication',
		'twoFactor.disable.code': 'App code or recovery code',
		'twoFactor.disable.codeHint': 'The 6 digits shown by the app, or one of your recovery codes (for example abcde-23456).',
		'twoFactor.disable.submit': 'Turn off',
		'twoFactor.disabled': 'Two-factor authentication is off.',

		'twoFactor.login.title': 'Two-factor authentication',
		'twoFactor.login.intro': 'Last step: enter the 6-digit code shown by your authenticator app.',
		'twoFactor.login.submit': 'Confirm',
		'twoFactor.login.useRecovery': 'Don’t have your phone? Use a recovery code',
		'twoFactor.login.recoveryCode': 'Recovery code',
		'twoFactor.login.recoveryHint': 'One of the 10 codes you saved when turning it on, for example abcde-23456. Each code works once.',
		'twoFactor.login.recoverySubmit': 'Use the recovery code',
		'twoFactor.login.noPending': 'No login is waiting in this browser, or it expired (10 minutes). Start again from the login page.',
		'twoFactor.login.restart': 'Start the login again',

		'twoFactor.error.codeFormat': 'Enter the 6 digits from the app, or a 10-character recovery code.',
		'twoFactor.error.invalidCode': 'Wrong code. {remaining} attempts left.',
		'twoFactor.error.invalidCodeLast': 'Wrong code. 1 attempt left.',
		'twoFactor.error.reusedCode': 'This code was already used. Wait for the app to show a new one.',
		'twoFactor.error.locked': 'Too many wrong codes. Try again in {minutes} min.',
		'twoFactor.error.expired': 'This step has expired or is no longer valid. Start again.',
		'twoFactor.error.required': 'Your admin account must stay protected by two-factor authentication.',
	},
)
