import { createContext, useContext } from 'react'

// The per-request CSP nonce, from server.ts through entry.server.tsx to <Scripts>.
const NonceContext = createContext<string>('')
export const NonceProvider = NonceContext.Provider
export const useNonce = () => useContext(NonceContext)
