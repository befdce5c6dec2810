import { defineMessages } from './define.ts'

export const compareMessages = defineMessages(
	{
		'compare.before': 'Avant',
		'compare.after': 'Après',
		'compare.slider': 'Comparer avant et après',
		'compare.valueText': '{before} {beforePercent} %, {after} {afterPercent} %',
		'compare.open': 'Voir « {label} » en grand',
	},
	{
		'compare.before': 'Before',
		'compare.after': 'After',
		'compare.slider': 'Compare before and after',
		'compare.valueText': '{before} {beforePercent}%, {after} {afterPercent}%',
		'compare.open': 'View “{label}” full size',
	},
)
