/**
 * The input rules of domain/validation.ts (text, date-times, JSON) applied to every argument of
 * every field, as a Pothos plugin, so no field can forget them: a new argument is checked by its
 * type the day it is added, and only free text opts into line breaks (`multilineText`).
 *
 * Each root field (Query, Mutation, Subscription) checks, before its resolver runs, its own
 * arguments and those of every field selected below it: nested connection fields put their
 * arguments into the root field's SQL (the drizzle plugin builds one statement), so checking them
 * where they resolve would be too late. The plugin sits inside the errors plugin, so a mutation
 * answers with its result union's ValidationError, and outside nothing else: a refused value
 * reaches no resolver, domain code or SQL. Values are checked as GraphQL coerced them, by what
 * they are (a string, a Date, a JSON object), so a future scalar is covered too.
 *
 * `field` names the argument path ("input.message", "filter.integration"); for a nested field it
 * is prefixed with the field's path below the root ("account.connections(filter.integration)").
 */
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import {
  type FragmentDefinitionNode,
  getArgumentValues,
  getNamedType,
  type GraphQLArgument,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLInputType,
  type GraphQLResolveInfo,
  isCompositeType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import { instantProblem, jsonProblem, refuse, textProblem, type TextKind } from '../domain/validation.js';

/** Spread into an input field or argument holding free text that may keep tabs and line breaks. */
export const multilineText = { extensions: { text: 'multiline' satisfies TextKind } };

function textKind(extensions: Readonly<Record<string, unknown>> | null | undefined): TextKind {
  return extensions?.text === 'multiline' ? 'multiline' : 'line';
}

/** How an argument path is named in errors: as is for a root field, inside its field's path below. */
type FieldName = (argumentPath: string) => string;

/** Checks one coerced value of `type` at argument path `path`. */
function checkValue(type: GraphQLInputType, value: unknown, path: string, kind: TextKind, name: FieldName): void {
  if (value == null) return;
  if (isNonNullType(type)) return checkValue(type.ofType, value, path, kind, name);
  if (isListType(type)) {
    if (Array.isArray(value)) value.forEach((item, index) => checkValue(type.ofType, item, `${path}.${index}`, kind, name));
    return;
  }
  if (isInputObjectType(type)) {
    for (const field of Object.values(type.getFields())) {
      const child = (value as Record<string, unknown>)[field.name];
      checkValue(field.type, child, `${path}.${field.name}`, textKind(field.extensions), name);
    }
    return;
  }
  // Scalars (enums arrive as one of their values), by what GraphQL made of them.
  if (typeof value === 'string') refuse(name(path), textProblem(value, kind));
  else if (value instanceof Date) refuse(name(path), instantProblem(value));
  else if (typeof value === 'object') refuse(name(path), jsonProblem(value));
}

function checkArguments(args: readonly GraphQLArgument[], values: Record<string, unknown>, name: FieldName) {
  for (const arg of args) checkValue(arg.type, values[arg.name], arg.name, textKind(arg.extensions), name);
}

/**
 * Checks the arguments of every field below `selectionSet`. A fragment is walked once per
 * request however often it is spread. Arguments GraphQL itself cannot coerce are left for it to
 * report at their field.
 */
function checkSelections(
  info: GraphQLResolveInfo,
  parentType: GraphQLCompositeType,
  selectionSet: SelectionSetNode,
  path: string,
  walked: Set<FragmentDefinitionNode>,
): void {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const field: GraphQLField<unknown, unknown> | undefined =
        isObjectType(parentType) || isInterfaceType(parentType) ? parentType.getFields()[selection.name.value] : undefined;
      if (!field) continue;
      const at = `${path}${path ? '.' : ''}${selection.alias?.value ?? selection.name.value}`;
      if (field.args.length > 0 && selection.arguments?.length) {
        let values: Record<string, unknown> | undefined;
        try {
          values = getArgumentValues(field, selection, info.variableValues);
        } catch {
          values = undefined;
        }
        if (values) checkArguments(field.args, values, (argumentPath) => `${at}(${argumentPath})`);
      }
      const type = getNamedType(field.type);
      if (selection.selectionSet && isCompositeType(type)) checkSelections(info, type, selection.selectionSet, at, walked);
    } else {
      const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? info.fragments[selection.name.value] : selection;
      if (!fragment || (fragment.kind === Kind.FRAGMENT_DEFINITION && walked.has(fragment))) continue;
      if (fragment.kind === Kind.FRAGMENT_DEFINITION) walked.add(fragment);
      const condition = fragment.typeCondition ? info.schema.getType(fragment.typeCondition.name.value) : parentType;
      if (condition && isCompositeType(condition)) checkSelections(info, condition, fragment.selectionSet, path, walked);
    }
  }
}

/** Checks a root field's arguments and every argument selected below it; throws a ValidationError. */
function checkOperationInputs(info: GraphQLResolveInfo): void {
  const field = info.parentType.getFields()[info.fieldName];
  const walked = new Set<FragmentDefinitionNode>();
  for (const node of info.fieldNodes) {
    if (field.args.length > 0) checkArguments(field.args, getArgumentValues(field, node, info.variableValues), (argumentPath) => argumentPath);
    const type = getNamedType(field.type);
    if (node.selectionSet && isCompositeType(type)) checkSelections(info, type, node.selectionSet, '', walked);
  }
}

export class InputRulesPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    // A subscription's resolve maps each event; its inputs were checked once, in subscribe.
    if (fieldConfig.kind !== 'Query' && fieldConfig.kind !== 'Mutation') return resolver;
    return (parent, args, context, info) => {
      checkOperationInputs(info);
      return resolver(parent, args, context, info);
    };
  }

  override wrapSubscribe(
    subscribe: GraphQLFieldResolver<unknown, Types['Context'], object> | undefined,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> | undefined {
    if (!subscribe || fieldConfig.kind !== 'Subscription') return subscribe;
    return (parent, args, context, info) => {
      checkOperationInputs(info);
      return subscribe(parent, args, context, info);
    };
  }
}

declare global {
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      inputRules: InputRulesPlugin<Types>;
    }
  }
}

const pluginName = 'inputRules';
SchemaBuilder.registerPlugin(pluginName, InputRulesPlugin);

/** The plugin's name, for the builder's `plugins` list (after scope-auth: who may call comes first). */
export default pluginName;
