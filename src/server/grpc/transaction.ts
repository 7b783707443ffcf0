import type {UntypedServiceImplementation} from '@grpc/grpc-js'
import type {Handlers} from './call.js'
import type {ServiceDeps} from './deps.js'

export function transactionService(_d: ServiceDeps, _h: Handlers): UntypedServiceImplementation {
  return {}
}
