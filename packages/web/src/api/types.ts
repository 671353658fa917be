import type { z } from 'zod';
import type {
  ConnectionStatus, KeyholdEvent, LoginResponseSchema, MeSchema, SignedInSchema, UserRoleSchema,
} from '@keyhold/contract';

export type { ConnectionStatus, KeyholdEvent };
export type Me = z.infer<typeof MeSchema>;
export type SignedIn = z.infer<typeof SignedInSchema>;
export type LoginResponse = z.infer<typeof LoginResponseSchema>;
export type Role = z.infer<typeof UserRoleSchema>;

// The two shapes below are declared by the server's routes (GET /api/providers and the masked
// credential); they mirror those response schemas until they move into @keyhold/contract.
export type CatalogField = {
  name: string;
  label: string;
  secret: boolean;
  required: boolean;
  pattern?: string;
  example?: string;
  help?: string;
  default?: string;
};

export type Provider = {
  id: string;
  displayName: string;
  category: string;
  description?: string;
  docsUrl?: string;
  authMode: string;
  credentialFields: CatalogField[];
  configFields: CatalogField[];
  canTestConnection: boolean;
  webhooks: boolean;
};

export type Catalog = { categories: string[]; providers: Provider[] };

export type Connection = {
  id: string;
  service_name: string;
  label: string;
  api_key: string;
  api_secret: '***' | null;
  config: Record<string, string>;
  status: ConnectionStatus | string;
  is_active: boolean;
  last_used: string | null;
  last_verified: string | null;
  last_refreshed: string | null;
  token_expires_at: string | null;
  created_at: string;
  updated_at: string;
  webhook_url?: string;
};

export type Revealed = {
  id: string;
  service_name: string;
  label: string;
  credentials: Record<string, string>;
  config: Record<string, string>;
};
